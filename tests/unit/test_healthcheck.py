"""The image's health check probes /healthz only where `plumb run` serves it."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.loop import healthcheck


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def _serve(status: int) -> Iterator[str]:
    handler = type("Handler", (_Answer,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def healthy() -> Iterator[str]:
    yield from _serve(200)


@pytest.fixture
def failing() -> Iterator[str]:
    yield from _serve(500)


def fake_proc(tmp_path: Path, *processes: list[str]) -> Path:
    """A /proc with one process per command line, PID 1 first."""
    for pid, cmdline in enumerate(processes, start=1):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(b"\0".join(w.encode() for w in cmdline))
    (tmp_path / "self").mkdir()
    return tmp_path


TINI = ["tini", "--", "plumb"]


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        ([*TINI, "run", "--repo", "r"], ["run", "--repo", "r"]),
        (["/usr/local/bin/python3.11", "/usr/local/bin/plumb", "plan"], ["plan"]),
        (["python", "-m", "controller", "run"], ["run"]),
        (["python", "-m", "controller.loop.healthcheck"], None),
        (["sleep", "60"], None),
    ],
)
def test_plumb_args_found_in_a_command_line(cmdline: list[str], expected: list[str] | None) -> None:
    assert healthcheck.plumb_args(cmdline) == expected


@pytest.mark.parametrize(
    ("args", "env", "url"),
    [
        (["run"], {}, "http://127.0.0.1:8080/healthz"),
        (["--state", "sqlite:///x", "--workers=4", "run"], {}, "http://127.0.0.1:8080/healthz"),
        (["run"], {"PLUMB_LISTEN": "0.0.0.0:9000"}, "http://127.0.0.1:9000/healthz"),
        (["run", "--listen", "[::]:9000"], {}, "http://[::1]:9000/healthz"),
        (
            ["run", "--listen=10.0.0.5:81"],
            {"PLUMB_LISTEN": "0.0.0.0:1"},
            "http://10.0.0.5:81/healthz",
        ),
        (["run", "--once"], {}, None),
        (["run"], {"PLUMB_ONCE": "true"}, None),
        (["--state", "run", "plan"], {}, None),  # "run" here is --state's value
        (["plan", "specs/"], {}, None),
        ([], {}, None),
    ],
)
def test_only_a_serving_run_has_a_health_url(
    args: list[str], env: dict[str, str], url: str | None
) -> None:
    assert healthcheck.health_url(args, env) == url


def test_a_container_not_running_plumb_run_is_healthy(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, [*TINI, "history"])
    assert healthcheck.main(proc, {"PLUMB_LISTEN": "127.0.0.1:1"}) == 0


def test_a_serving_run_is_healthy_when_healthz_answers(tmp_path: Path, healthy: str) -> None:
    proc = fake_proc(tmp_path, [*TINI, "run", "--repo", "r"])
    assert healthcheck.main(proc, {"PLUMB_LISTEN": healthy}) == 0


def test_a_serving_run_is_unhealthy_when_healthz_fails(
    tmp_path: Path, failing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = fake_proc(tmp_path, [*TINI, "run"])
    assert healthcheck.main(proc, {"PLUMB_LISTEN": failing}) == 1
    assert "500" in capsys.readouterr().err


def test_a_serving_run_is_unhealthy_when_nothing_listens(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port just free: nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = fake_proc(tmp_path, [*TINI, "run"])
    assert healthcheck.main(proc, {"PLUMB_LISTEN": f"127.0.0.1:{port}"}) == 1


def test_plumb_started_by_a_shell_is_found_beyond_pid_1(tmp_path: Path, failing: str) -> None:
    proc = fake_proc(tmp_path, ["sh", "-c", "plumb run"], ["/usr/local/bin/plumb", "run"])
    assert healthcheck.main(proc, {"PLUMB_LISTEN": failing}) == 1
