"""The HTTP endpoint of `plumb run`: health, readiness, metrics, and a webhook to sync now.

    GET  /healthz   200 while the loop succeeds often enough, 503 once it is stale
    GET  /readyz    503 until the first successful cycle, 200 after
    GET  /metrics   Prometheus text format
    POST /sync      a signed delivery (GitHub's webhook) queues a cycle: 202

The server answers on threads of its own and never runs a cycle itself: `trigger()` asks the
loop for one, and the loop decides when (never two at once). POST /sync is off unless a
secret is given; an unsigned sync endpoint would let anyone on the network drive AWS calls.
"""

from __future__ import annotations

import http.server
import json
import logging
import socket
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.errors import PlumbError
from controller.loop_status import LoopStatus
from controller.metrics import Metrics
from controller.webhook import (
    BAD_SIGNATURE,
    DELIVERY_HEADER,
    REPLAYED,
    SECRET_ENV,
    UNSIGNED,
    Webhook,
)

MAX_BODY = 1024 * 1024  # GitHub caps a delivery at 25 MB; a push event is a few kB
# A client that stalls mid-request gives its thread back after this long.
REQUEST_TIMEOUT = 10

_log = logging.getLogger(__name__)

WEBHOOK_OFF = f"the webhook is off: set {SECRET_ENV} to let POST /sync trigger a cycle"
REFUSED = {
    UNSIGNED: (
        "unsigned delivery: POST /sync needs X-Hub-Signature-256: sha256=<hex HMAC-SHA256 "
        f"of the body under {SECRET_ENV}>"
    ),
    BAD_SIGNATURE: "the signature does not match the body under this controller's secret",
    REPLAYED: "this delivery was accepted already; each delivery triggers one sync",
}


class Endpoint:
    """One HTTP server on `listen` (HOST:PORT; port 0 picks a free one, see `port`)."""

    def __init__(
        self,
        listen: str,
        status: LoopStatus,
        metrics: Metrics,
        trigger: Callable[[], None],
        secret: str | None = None,
        *,
        max_body: int = MAX_BODY,
    ) -> None:
        self.listen = listen
        self.status = status
        self.metrics = metrics
        self.trigger = trigger
        self.webhook = Webhook(secret) if secret else None
        self.max_body = max_body
        self._server: _Server | None = None

    def start(self) -> Endpoint:
        """Bind and serve on a daemon thread; PlumbError when the address cannot be had."""
        host, _, port = self.listen.rpartition(":")
        try:
            server = _Server(host, int(port), self)
        except OSError as err:  # the port is taken, or the host is not this machine's
            raise PlumbError(
                f"cannot serve the health endpoint on {self.listen}: {err.strerror or err}; "
                "choose another --listen address"
            ) from None
        self._server = server
        threading.Thread(target=server.serve_forever, name="plumb-http", daemon=True).start()
        return self

    @property
    def port(self) -> int:
        """The port bound, the one the system chose when asked for port 0."""
        if self._server is None:
            raise RuntimeError("the endpoint is not started")
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def describe(self) -> str:
        """For the startup line: where to look, and whether POST /sync is on."""
        host = self.listen.rpartition(":")[0]
        base = f"http://{host}:{self.port}" if self._server else f"http://{self.listen}"
        hook = "POST /sync on" if self.webhook else f"POST /sync off (set {SECRET_ENV})"
        return f"{base}/healthz, /readyz, /metrics; {hook}"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, endpoint: Endpoint) -> None:
        if host.startswith("["):  # [::]:8080, an IPv6 address
            self.address_family = socket.AF_INET6
            host = host.strip("[]")
        self.endpoint = endpoint
        super().__init__((host, port), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT
    server_version = "plumb"

    def do_GET(self) -> None:
        path = _path(self.path)
        if path == "/healthz":
            self._health()
        elif path == "/readyz":
            self._ready()
        elif path == "/metrics":
            registry = self.server.endpoint.metrics.registry
            self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
        elif path == "/sync":
            self._json(405, {"error": "POST /sync, with a signed body"})
        else:
            self._json(404, {"error": f"no {path} here: /healthz, /readyz, /metrics, /sync"})

    def do_POST(self) -> None:
        path = _path(self.path)
        if path == "/sync":
            self._sync()
        elif path in ("/healthz", "/readyz", "/metrics"):
            self._json(405, {"error": f"GET {path}"})
        else:
            self._json(404, {"error": f"no {path} here: /healthz, /readyz, /metrics, /sync"})

    def log_message(self, *args: Any) -> None:  # quiet: a line per probe is noise
        return

    # -- the routes ---------------------------------------------------------------------

    def _health(self) -> None:
        status = self.server.endpoint.status
        body = status.to_json()
        self._json(200 if body["healthy"] else 503, body)

    def _ready(self) -> None:
        body = self.server.endpoint.status.to_json()
        self._json(200 if body["ready"] else 503, body)

    def _sync(self) -> None:
        endpoint = self.server.endpoint
        if endpoint.webhook is None:
            self._json(404, {"error": WEBHOOK_OFF})
            return
        body = self._body(endpoint.max_body)
        if body is None:
            return
        refusal = endpoint.webhook.refusal(self.headers, body)
        endpoint.metrics.webhook(refusal)
        if refusal is not None:
            self._refuse(refusal)
            return
        if self.headers.get("X-GitHub-Event") == "ping":  # sent when the hook is created
            self._json(200, {"message": "pong: the webhook reaches plumb"})
            return
        endpoint.trigger()
        self._json(202, {"message": "sync queued: a cycle starts once the current one ends"})

    # -- pieces -------------------------------------------------------------------------

    def _body(self, limit: int) -> bytes | None:
        """The raw body (signed as sent), or None once an error has been answered."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._json(411, {"error": "send a Content-Length; chunked bodies are not read"})
            return None
        text = self.headers.get("Content-Length", "0").strip()
        if not text.isdigit():
            self.close_connection = True
            self._json(400, {"error": f"Content-Length {text!r} is not a number"})
            return None
        if int(text) > limit:
            self.close_connection = True  # the body is left unread
            self._json(413, {"error": f"a delivery may hold {limit} bytes; this one {text}"})
            return None
        return self.rfile.read(int(text))

    def _refuse(self, reason: str) -> None:
        delivery = self.headers.get(DELIVERY_HEADER, "")
        _log.warning(
            json.dumps(
                {
                    "event": "webhook-refused",
                    "reason": reason,
                    "delivery": delivery,
                    "client": self.client_address[0],
                }
            )
        )
        self._json(401, {"error": REFUSED[reason], "reason": reason})

    def _json(self, code: int, body: dict[str, Any]) -> None:
        self._send(code, json.dumps(body).encode(), "application/json")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def _path(raw: str) -> str:
    return urllib.parse.urlsplit(raw).path.rstrip("/") or "/"
