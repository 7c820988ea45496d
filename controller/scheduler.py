"""`plumb run`: one sync cycle every interval, with a health endpoint.

APScheduler drives the cycle (never two at once: max_instances=1, coalesce); a tiny HTTP
server on loopback answers /healthz with the last cycle's outcome so a container
orchestrator can tell a stuck controller from a working one.
"""

from __future__ import annotations

import contextlib
import datetime
import http.server
import json
import threading
import time
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from rich.console import Console

from controller.config import Settings
from controller.errors import PlumbError
from controller.runner import Runner

_status: dict[str, Any] = {"started": time.time(), "cycles": 0, "lastExit": None, "lastAt": None}


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.path.rstrip("/") in ("/healthz", "")
        body = json.dumps(_status).encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # quiet: one line per probe is noise
        return


def _serve_health(listen: str) -> None:
    host, _, port = listen.rpartition(":")
    try:
        server = http.server.ThreadingHTTPServer((host, int(port)), _Health)
    except OSError as err:  # the port is taken, or the host is not this machine's
        raise PlumbError(
            f"cannot serve the health endpoint on {listen}: {err.strerror or err}; "
            "choose another --listen address"
        ) from None
    threading.Thread(target=server.serve_forever, daemon=True).start()


def serve(
    runner: Runner,
    settings: Settings,
    repo: str,
    branch: str,
    path: str,
    interval: int,
    listen: str,
    once: bool,
    console: Console,
) -> int:
    from controller.sync_cycle import do_sync

    def cycle() -> int:
        try:
            code = do_sync(runner, settings, repo, branch, path, console, trigger="schedule")
        except Exception as err:  # the loop must outlive one bad cycle
            console.print(f"[red]cycle failed:[/red] {err}")
            code = 1
        _status.update(cycles=_status["cycles"] + 1, lastExit=code, lastAt=time.time())
        return code

    if once:
        return cycle()
    _serve_health(listen)
    scheduler = BlockingScheduler()
    scheduler.add_job(
        cycle,
        "interval",
        seconds=interval,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.datetime.now(),
    )
    console.print(f"plumb run: syncing {repo}#{branch} every {interval} s; health on {listen}")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    return 0
