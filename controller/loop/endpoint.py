"""The HTTP endpoint of `plumb run`: health, readiness, metrics, and a webhook to sync now.

    GET  /healthz   200 while the loop succeeds often enough, 503 once it is stale
    GET  /readyz    503 until the first successful cycle, 200 after
    GET  /metrics   Prometheus text format
    POST /sync      a signed push to the watched branch queues a cycle: 202 (delivery.py
                    says what else is acknowledged without one)

The endpoint never runs a cycle itself: `trigger(delivery)` asks the loop for one, and the
loop decides when (never two at once). POST /sync is off unless a secret is given; an
unsigned sync endpoint would let anyone on the network drive AWS calls.

waitress serves it: a fixed pool of `threads` answers requests, at most `connection_limit`
connections are open at once (more wait in the listen backlog), an idle one is closed after
`CHANNEL_TIMEOUT`, and a body over `max_body` is refused (413) before it is read. waitress
also refuses a malformed request (a Content-Length that is not ASCII digits: 400) before
plumb sees it, and reads a chunked body up to the same limit.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

import waitress
from waitress import wasyncore

from controller.errors import PlumbError
from controller.loop.endpoint_app import App
from controller.loop.log_limits import ThrottledWarnings, quiet_waitress
from controller.loop.metrics import Metrics
from controller.loop.status import LoopStatus
from controller.loop.webhook import SECRET_ENV, Webhook

MAX_BODY = 1024 * 1024  # GitHub caps a delivery at 25 MB; a push event is a few kB
MAX_HEADERS = 32 * 1024  # GitHub's headers are a few hundred bytes
THREADS = 4  # probes, scrapes and deliveries each take milliseconds
CONNECTION_LIMIT = 64
BACKLOG = 128
# A client that stalls gives its connection back after this long.
CHANNEL_TIMEOUT = 10
STOP_SECONDS = 5

_log = logging.getLogger(__name__)


class Endpoint:
    """One HTTP server on `listen` (HOST:PORT; port 0 picks a free one, see `port`) for a
    loop that syncs `branch`."""

    def __init__(
        self,
        listen: str,
        status: LoopStatus,
        metrics: Metrics,
        trigger: Callable[[str], None],
        secret: str | None = None,
        *,
        branch: str = "main",
        max_body: int = MAX_BODY,
        threads: int = THREADS,
        connection_limit: int = CONNECTION_LIMIT,
    ) -> None:
        self.listen = listen
        self.status = status
        self.metrics = metrics
        self.trigger = trigger
        self.webhook = Webhook(secret) if secret else None
        self.branch = branch
        self.max_body = max_body
        self.threads = threads
        self.connection_limit = connection_limit
        self.refusals = ThrottledWarnings(_log)
        self._server: waitress.server.BaseWSGIServer | None = None
        self._map: dict[int, wasyncore.dispatcher] = {}
        self._thread: threading.Thread | None = None

    def start(self) -> Endpoint:
        """Bind and serve on a daemon thread; PlumbError when the address cannot be had."""
        host, _, port = self.listen.rpartition(":")
        try:
            sock = _bind(host, int(port))
        except OSError as err:  # the port is taken, or the host is not this machine's
            raise PlumbError(
                f"cannot serve the health endpoint on {self.listen}: {err.strerror or err}; "
                "choose another --listen address"
            ) from None
        quiet_waitress()
        self._map = {}
        self._server = waitress.create_server(
            App(self),
            map=self._map,
            sockets=[sock],
            threads=self.threads,
            connection_limit=self.connection_limit,
            backlog=BACKLOG,
            channel_timeout=CHANNEL_TIMEOUT,
            max_request_body_size=self.max_body + 1,  # waitress refuses from this size on
            max_request_header_size=MAX_HEADERS,
            ident="plumb",
            asyncore_use_poll=True,
        )
        self._thread = threading.Thread(target=self._server.run, name="plumb-http", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        """The port bound, the one the system chose when asked for port 0."""
        if self._server is None:
            raise RuntimeError("the endpoint is not started")
        return int(self._server.effective_port)

    def stop(self) -> None:
        """Close every connection and the listening socket from the server's own thread
        (its loop ends once nothing is left to serve), then end the request threads."""
        server, thread, self._server = self._server, self._thread, None
        if server is None:
            return
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(self._map))
        except OSError:  # the trigger's pipe is gone (seen once in a test run): close here
            wasyncore.close_all(self._map, ignore_all=True)
        if thread is not None:
            thread.join(STOP_SECONDS)
        server.task_dispatcher.shutdown(timeout=STOP_SECONDS)

    def describe(self) -> str:
        """For the startup line: where to look, and whether POST /sync is on."""
        host = self.listen.rpartition(":")[0]
        base = f"http://{host}:{self.port}" if self._server else f"http://{self.listen}"
        hook = "POST /sync on" if self.webhook else f"POST /sync off (set {SECRET_ENV})"
        return f"{base}/healthz, /readyz, /metrics; {hook}"


def _bind(host: str, port: int) -> socket.socket:
    """A bound TCP socket; [::] serves IPv4 too, as the system's default dual stack does."""
    family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    return sock
