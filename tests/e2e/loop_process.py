"""A real `plumb run` process for end-to-end tests: its output drained, its endpoint asked."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Loop:
    """A `plumb run` process, its output drained so that it never blocks on a full pipe."""

    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc, self.port = proc, port
        self.output: list[str] = []
        for stream in (proc.stdout, proc.stderr):
            threading.Thread(target=self._drain, args=(stream,), daemon=True).start()

    def _drain(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.output.append(line)

    def call(self, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = self.call("GET", "/metrics")[1].decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def runs(self) -> float:
        return sum(v for (name, _), v in self.metrics().items() if name == "plumb_runs_total")

    def wait_for(self, what: str, check: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"plumb run exited {self.proc.returncode}" + self.log()
            try:
                if check():
                    return
            except OSError:  # not listening yet
                pass
            time.sleep(0.5)
        pytest.fail(f"{what}: not within {seconds} s" + self.log())

    def log(self) -> str:
        return "\n--- output\n" + "".join(self.output[-60:])


def events(loop: Loop) -> list[dict[str, Any]]:
    """The JSON log events printed so far (`--log-format json`)."""
    out = []
    for line in list(loop.output):
        if line.startswith("{"):
            out.append(json.loads(line))
    return out
