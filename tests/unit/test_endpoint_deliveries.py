"""POST /sync acts on what a delivery is, not only on who signed it; the endpoint's log
lines and threads stay bounded whatever a stranger sends (issue 17)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import pytest

from controller.loop.endpoint import Endpoint
from controller.loop.log_limits import OncePerPeriod, ThrottledWarnings
from tests.unit.test_endpoint import Loop, call, counted, endpoint, loop, post_sync, signed

__all__ = ["endpoint", "loop"]  # the fixtures, shared with test_endpoint.py


def push(ref: str = "refs/heads/main", **fields: object) -> bytes:
    return json.dumps({"ref": ref, "after": "1" * 40, **fields}).encode()


@pytest.mark.parametrize(
    ("event", "body", "outcome"),
    [
        ("issues", json.dumps({"action": "opened"}).encode(), "other-event"),
        ("pull_request", push(), "other-event"),  # a body that looks like a push is not one
        ("push", push("refs/heads/feature"), "other-branch"),
        ("push", push("refs/tags/v1.0"), "tag"),
        ("push", push(deleted=True), "branch-deleted"),
    ],
)
def test_a_signed_delivery_that_is_no_push_to_the_watched_branch_makes_no_cycle(
    loop: Loop, endpoint: Endpoint, event: str, body: bytes, outcome: str
) -> None:
    code, answer = post_sync(endpoint, body, **signed(body, event=event))
    assert code == 200 and answer["outcome"] == outcome and answer["cycle"] is False, answer
    assert answer["message"].startswith("no cycle: ")
    assert loop.triggered == 0 and counted(loop, outcome) == 1


def test_a_signed_push_to_the_watched_branch_makes_one_cycle_with_its_delivery_id(
    loop: Loop,
) -> None:
    served = loop.serve(branch="release").start()
    try:
        main, release = push("refs/heads/main"), push("refs/heads/release")
        assert post_sync(served, main, **signed(main, delivery="to-main"))[0] == 200
        code, answer = post_sync(served, release, **signed(release, delivery="to-release"))
        assert code == 202 and answer["cycle"] is True, answer
    finally:
        served.stop()
    assert loop.deliveries == ["to-release"]
    assert counted(loop, "cycle") == 1 and counted(loop, "other-branch") == 1


@pytest.mark.parametrize(
    ("body", "headers", "outcome"),
    [
        (b"payload=%7B%22ref%22%7D", {}, "bad-body"),  # a hook set to form encoding
        (b"[1, 2]", {}, "bad-body"),
        (b"\xff\xfe{}", {}, "bad-body"),
        (b"[" * 100_000, {}, "bad-body"),  # nested past Python's recursion limit
        (b'{"ref": 7}', {}, "bad-body"),
        (push(), {"X-GitHub-Event": ""}, "no-event"),
    ],
)
def test_a_signed_body_that_is_no_json_object_is_a_400_without_a_cycle(
    loop: Loop, endpoint: Endpoint, body: bytes, headers: dict[str, str], outcome: str
) -> None:
    code, answer = post_sync(endpoint, body, **{**signed(body), **headers})
    assert code == 400 and answer["reason"] == outcome, answer
    assert loop.triggered == 0 and counted(loop, outcome) == 1


def raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_a_content_length_of_other_digits_than_ascii_is_a_400_and_the_server_goes_on(
    loop: Loop, endpoint: Endpoint, capfd: pytest.CaptureFixture[str]
) -> None:
    # '²' is a digit to str.isdigit() but not to int(): http.server's handler crashed on it.
    request = "POST /sync HTTP/1.1\r\nHost: x\r\nContent-Length: ²\r\nConnection: close\r\n\r\n"
    answer = raw_request(endpoint.port, request.encode("latin-1"))
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert call(endpoint, "GET", "/healthz")[0] == 200, "still answering"
    assert "Traceback" not in capfd.readouterr().err
    assert loop.triggered == 0


def test_many_refused_deliveries_log_a_bounded_number_of_lines(
    loop: Loop, endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    huge_id = "<b>" + "x" * 10_000
    with caplog.at_level(logging.WARNING, logger="controller.loop.endpoint"):
        for n in range(200):
            delivery = huge_id if n == 0 else f"d-{n}"
            code, _ = post_sync(endpoint, push(), **signed(delivery=delivery, secret="wrong"))
            assert code == 401
    lines = [json.loads(r.getMessage()) for r in caplog.records]
    assert len(lines) == 1, "one line a minute per reason"
    assert counted(loop, "bad-signature") == 200, "every refusal is counted"
    assert lines[0]["delivery"] == "?b?" + "x" * 61, "the sender's id is cut and tamed"


def test_a_throttled_line_says_how_many_were_held_back() -> None:
    now = [0.0]
    logger = logging.getLogger("tests.throttled")
    lines: list[dict[str, object]] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(json.loads(record.getMessage()))  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        warnings = ThrottledWarnings(logger, period=60, clock=lambda: now[0])
        sent = [warnings.warn("unsigned", {"n": n}) for n in range(5)]
        now[0] = 61.0
        sent.append(warnings.warn("unsigned", {"n": 5}))
        sent.append(warnings.warn("replayed", {"n": 6}))  # a reason of its own
    finally:
        logger.removeHandler(handler)
    assert sent == [True, False, False, False, False, True, True]
    assert [(line["n"], line["suppressed"]) for line in lines] == [(0, 0), (5, 4), (6, 0)]


def test_waitress_warnings_are_held_to_one_per_message_and_its_queue_depth_dropped() -> None:
    now = [0.0]
    once = OncePerPeriod(period=60, clock=lambda: now[0])

    def record(name: str, msg: str, level: int = logging.WARNING) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, msg, None, None)

    limit = "total open connections reached the connection limit"
    assert [once.filter(record("waitress", limit)) for _ in range(3)] == [True, False, False]
    assert not once.filter(record("waitress.queue", "Task queue depth is %d"))
    assert once.filter(record("waitress", "Exception while serving", logging.ERROR))
    now[0] = 61.0
    assert once.filter(record("waitress", limit))


def test_more_connections_than_the_limit_do_not_make_more_threads(loop: Loop) -> None:
    served = loop.serve(threads=2, connection_limit=8).start()
    before = threading.active_count()
    stalled = []
    try:
        for _ in range(40):  # clients that send half a request and wait
            conn = socket.create_connection(("127.0.0.1", served.port), timeout=10)
            conn.sendall(b"POST /sync HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
            stalled.append(conn)
        time.sleep(0.5)
        assert threading.active_count() <= before + 1, "http.server made a thread each"
    finally:
        for conn in stalled:
            conn.close()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the closed ones are let go, others served again
            try:
                if call(served, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        assert call(served, "GET", "/healthz")[0] == 200
    finally:
        served.stop()
    assert threading.active_count() < before, "stop() ends the server's threads"
