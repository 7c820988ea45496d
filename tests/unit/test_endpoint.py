"""The HTTP endpoint of `plumb run`, served on an ephemeral port with a made-up loop."""

from __future__ import annotations

import http.client
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from controller.engine.runner import RunResult
from controller.errors import PlumbError
from controller.loop.endpoint import Endpoint
from controller.loop.metrics import Metrics
from controller.loop.status import STALE_INTERVALS, LoopStatus
from controller.loop.webhook import Webhook, sign
from tests.unit.test_loop_status import Clock
from tests.unit.test_metrics import made_up_run

SECRET = "a webhook secret"
PUSH = json.dumps({"ref": "refs/heads/main", "after": "0" * 40}).encode()


class Loop:
    """The loop's side: its status, its metrics, and the cycles asked of it."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.status = LoopStatus(60, grace=0, clock=self.clock)
        self.metrics = Metrics()
        self.deliveries: list[str] = []

    @property
    def triggered(self) -> int:
        return len(self.deliveries)

    def trigger(self, delivery: str = "") -> None:
        self.deliveries.append(delivery)

    def serve(self, secret: str | None = SECRET, **kw: Any) -> Endpoint:
        return Endpoint("127.0.0.1:0", self.status, self.metrics, self.trigger, secret, **kw)


@pytest.fixture
def loop() -> Loop:
    return Loop()


@pytest.fixture
def endpoint(loop: Loop) -> Iterator[Endpoint]:
    served = loop.serve().start()
    yield served
    served.stop()


def call(
    endpoint: Endpoint, method: str, path: str, body: bytes = b"", headers: dict | None = None
) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.getheader("Content-Type", ""), answer.read()
    finally:
        conn.close()


def post_sync(endpoint: Endpoint, body: bytes = PUSH, **headers: str) -> tuple[int, dict]:
    code, _, raw = call(endpoint, "POST", "/sync", body, headers)
    return code, json.loads(raw)


def signed(
    body: bytes = PUSH, delivery: str = "d-1", secret: str = SECRET, event: str = "push"
) -> dict[str, str]:
    return {
        "X-Hub-Signature-256": sign(secret, body),
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Event": event,
    }


def counted(loop: Loop, outcome: str) -> float:
    value = loop.metrics.registry.get_sample_value(
        "plumb_webhook_deliveries_total", {"outcome": outcome}
    )
    return value or 0.0


def test_healthz_is_200_with_iso_times_then_503_once_the_loop_is_stale(
    loop: Loop, endpoint: Endpoint
) -> None:
    loop.status.cycle_ended(0)
    code, kind, raw = call(endpoint, "GET", "/healthz")
    body = json.loads(raw)
    assert code == 200 and kind == "application/json" and body["healthy"] is True
    assert body["lastSuccessAt"] == "2026-12-02T03:04:05Z" and body["cycles"] == 1
    loop.clock.now += STALE_INTERVALS * 60 + 1  # no success for three intervals
    code, _, raw = call(endpoint, "GET", "/healthz")
    assert code == 503 and json.loads(raw)["healthy"] is False


def test_readyz_waits_for_the_first_successful_cycle(loop: Loop, endpoint: Endpoint) -> None:
    assert call(endpoint, "GET", "/readyz")[0] == 503
    loop.status.cycle_ended(1)
    assert call(endpoint, "GET", "/readyz")[0] == 503, "a failed cycle proves nothing"
    loop.status.cycle_ended(0)
    assert call(endpoint, "GET", "/readyz/")[0] == 200


def test_metrics_are_prometheus_text_and_move_with_runs(loop: Loop, endpoint: Endpoint) -> None:
    run: RunResult = made_up_run(
        [], outcome="no-changes", calls={"byOperation": {"ec2:DescribeVpcs": 3}}
    )
    loop.metrics.record_run(run)
    code, kind, raw = call(endpoint, "GET", "/metrics")
    text = raw.decode()
    assert code == 200 and kind.startswith("text/plain; version=")
    assert 'plumb_runs_total{outcome="no-changes"} 1.0' in text
    assert 'plumb_api_calls_total{operation="DescribeVpcs",service="ec2"} 3.0' in text
    for name in ("plumb_run_duration_seconds", "plumb_webhook_deliveries_total"):
        assert name in text
    loop.metrics.record_run(run)
    assert (
        'plumb_runs_total{outcome="no-changes"} 2.0'
        in call(endpoint, "GET", "/metrics")[2].decode()
    )


def test_a_signed_delivery_triggers_one_cycle_and_only_once(loop: Loop, endpoint: Endpoint) -> None:
    code, body = post_sync(endpoint, **signed())
    assert code == 202 and loop.deliveries == ["d-1"], body
    code, body = post_sync(endpoint, **signed())
    assert code == 401 and body["reason"] == "replayed" and loop.triggered == 1
    assert counted(loop, "replayed") == 1 and counted(loop, "cycle") == 1


def test_unsigned_and_wrongly_signed_deliveries_are_refused_and_counted(
    loop: Loop, endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="controller.loop.endpoint"):
        code, body = post_sync(endpoint)
        assert code == 401 and body["reason"] == "unsigned"
        assert "X-Hub-Signature-256" in body["error"]
        code, body = post_sync(endpoint, **signed(secret="not the secret"))
        assert code == 401 and body["reason"] == "bad-signature"
        tampered = signed(PUSH)
        code, body = post_sync(endpoint, PUSH.replace(b"main", b"evil"), **tampered)
        assert code == 401 and body["reason"] == "bad-signature"
    assert loop.triggered == 0
    assert counted(loop, "unsigned") == 1 and counted(loop, "bad-signature") == 2
    lines = [json.loads(r.getMessage()) for r in caplog.records]
    # The second bad signature within a minute is counted, not logged (log_limits.py).
    assert [line["reason"] for line in lines] == ["unsigned", "bad-signature"]
    assert lines[0]["delivery"] == "" and lines[1]["delivery"] == "d-1"


def test_without_a_delivery_id_the_same_body_is_a_replay(loop: Loop, endpoint: Endpoint) -> None:
    headers = {"X-Hub-Signature-256": sign(SECRET, PUSH), "X-GitHub-Event": "push"}
    assert post_sync(endpoint, **headers)[0] == 202
    assert post_sync(endpoint, **headers)[1]["reason"] == "replayed"
    other = PUSH + b" "
    headers["X-Hub-Signature-256"] = sign(SECRET, other)
    assert post_sync(endpoint, other, **headers)[0] == 202
    assert loop.triggered == 2


def test_the_replay_memory_is_bounded_and_forgets_the_oldest() -> None:
    hook = Webhook(SECRET, remembered=4)  # two deliveries: an id and a body each
    bodies = {d: PUSH + d.encode() for d in "abc"}
    for delivery, body in bodies.items():
        assert hook.refusal(signed(body, delivery=delivery), body) is None
    assert hook.refusal(signed(bodies["c"], delivery="c"), bodies["c"]) == "replayed"
    assert hook.refusal(signed(bodies["a"], delivery="a"), bodies["a"]) is None, "forgotten"


def test_a_signed_body_sent_again_under_a_new_delivery_id_is_a_replay(
    loop: Loop, endpoint: Endpoint
) -> None:
    assert post_sync(endpoint, **signed(delivery="d-1"))[0] == 202
    code, body = post_sync(endpoint, **signed(delivery="d-2"))
    assert code == 401 and body["reason"] == "replayed" and loop.triggered == 1


def test_a_github_ping_is_answered_without_a_cycle(loop: Loop, endpoint: Endpoint) -> None:
    code, body = post_sync(endpoint, **signed(event="ping"))
    assert code == 200 and "pong" in body["message"] and loop.triggered == 0
    assert counted(loop, "ping") == 1


def test_without_a_secret_the_webhook_is_off_and_says_so(loop: Loop) -> None:
    served = loop.serve(secret=None).start()
    try:
        code, body = post_sync(served, **signed())
        assert code == 404 and "PLUMB_WEBHOOK_SECRET" in body["error"], body
        assert "POST /sync off" in served.describe()
    finally:
        served.stop()
    assert loop.triggered == 0


def test_an_oversized_body_is_refused_unread(loop: Loop) -> None:
    served = loop.serve(max_body=1024).start()
    try:
        big = b"x" * 2048
        code, _, raw = call(served, "POST", "/sync", big, signed(big))
        assert code == 413 and b"exceeds max_body" in raw
        head = b'{"ref": "refs/heads/main", "pad": "'
        exact = head + b"x" * (1024 - len(head) - 2) + b'"}'  # a JSON object of 1024 bytes
        assert loop.triggered == 0
        assert post_sync(served, exact, **signed(exact))[0] == 202, "the limit itself is fine"
    finally:
        served.stop()


def test_unknown_paths_and_wrong_methods(endpoint: Endpoint) -> None:
    assert call(endpoint, "GET", "/nowhere")[0] == 404
    assert call(endpoint, "GET", "/sync")[0] == 405
    assert call(endpoint, "POST", "/healthz")[0] == 405
    assert call(endpoint, "POST", "/nowhere")[0] == 404


def test_a_port_in_use_is_a_one_line_error(loop: Loop, endpoint: Endpoint) -> None:
    taken = Endpoint(f"127.0.0.1:{endpoint.port}", loop.status, loop.metrics, loop.trigger)
    with pytest.raises(PlumbError, match="choose another --listen address"):
        taken.start()


def test_all_interfaces_can_be_served(loop: Loop) -> None:
    served = Endpoint("0.0.0.0:0", loop.status, loop.metrics, loop.trigger).start()
    try:
        assert call(served, "GET", "/healthz")[0] == 200
    finally:
        served.stop()


def test_ipv6_any_is_served_on_both_stacks(loop: Loop) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        served = Endpoint("[::]:0", loop.status, loop.metrics, loop.trigger).start()
    except PlumbError:
        pytest.skip("no IPv6 here")
    try:
        assert served.port > 0 and served.describe().startswith(f"http://[::]:{served.port}/")
        conn = http.client.HTTPConnection("::1", served.port, timeout=10)
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
        conn.close()
        assert call(served, "GET", "/healthz")[0] == 200, "IPv4 too, as http.server did"
    finally:
        served.stop()
