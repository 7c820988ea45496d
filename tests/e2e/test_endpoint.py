"""The HTTP endpoint of a real `plumb run`: ready after its first cycle, metrics that move,
and a signed webhook delivery that makes it sync now.

The interval is long on purpose: a second cycle within the test can only come from
POST /sync. One small environment (a network without NAT, a bucket) keeps cycles short.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from controller.cli.demo import drift
from controller.loop.webhook import sign
from tests.e2e.conftest import ROOT, Cli, git_repo
from tests.e2e.loop_process import Loop, events, free_port

SCHEMA = json.loads((ROOT / "schemas" / "report.json").read_text())

SECRET = "e2e webhook secret"
SPEC = """apiVersion: plumb/v1
kind: Environment
metadata: {product: hook, env: e1, region: us-east-1}
spec:
  network:
    cidr: 10.60.0.0/16
    availabilityZones: [us-east-1a, us-east-1b]
    publicSubnets: [10.60.0.0/24, 10.60.1.0/24]
    privateSubnets: [10.60.10.0/24, 10.60.11.0/24]
    natGateways: 0
  storage: {expireAfterDays: 30, deletionPolicy: Delete}
"""


@pytest.fixture
def loop(cli: Cli, workdir: Path) -> Iterator[Loop]:
    specs = workdir / "hook"
    specs.mkdir()
    (specs / "hook-e1.yaml").write_text(SPEC)
    repo = git_repo(workdir / "git", specs)
    port = free_port()
    cli.env["PLUMB_WEBHOOK_SECRET"] = SECRET
    proc = cli.popen(
        "run", "--repo", str(repo), "--interval", "600", "--listen", f"127.0.0.1:{port}"
    )
    served = Loop(proc, port)
    try:
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("plumb run did not stop within 30 s of SIGTERM" + served.log())
        assert code == 0, "SIGTERM ends the loop cleanly" + served.log()


def test_the_loop_serves_readiness_metrics_and_a_signed_sync(loop: Loop, aws: Any) -> None:
    loop.wait_for("/readyz 200", lambda: loop.call("GET", "/readyz")[0] == 200, 120)
    health = json.loads(loop.call("GET", "/healthz")[1])
    assert health["healthy"] and health["lastOutcome"] == "succeeded", health
    assert health["lastSuccessAt"].endswith("Z")
    metrics = loop.metrics()
    assert metrics[("plumb_runs_total", (("outcome", "succeeded"),))] >= 1
    calls = {labels for (name, labels), _ in metrics.items() if name == "plumb_api_calls_total"}
    assert (("operation", "CreateVpc"), ("service", "ec2")) in calls, sorted(calls)
    assert metrics[("plumb_resources", (("status", "in-sync"),))] > 0
    assert metrics[("plumb_last_success_timestamp_seconds", ())] > 0

    runs = loop.runs()
    drift.shorten_lifecycle("hook-e1", days=7)  # a push's cycle finds it as the loop's do
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    code, _ = loop.call("POST", "/sync", body, **{"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert code == 401
    code, _ = loop.call("POST", "/sync", body)
    assert code == 401
    signed = {
        "X-Hub-Signature-256": sign(SECRET, body),
        "X-GitHub-Delivery": "e2e-1",
        "X-GitHub-Event": "push",
    }
    code, answer = loop.call("POST", "/sync", body, **signed)
    assert code == 202, answer
    loop.wait_for("a cycle after the webhook", lambda: loop.runs() > runs, 60)
    assert loop.call("POST", "/sync", body, **signed)[0] == 401, "replayed"
    after = loop.metrics()
    assert after[("plumb_runs_total", (("outcome", "succeeded"),))] >= 2, "the repair"
    # Counted only by the loop's own plans (selfHeal honoured, no deletes), as a push's is.
    assert after[("plumb_drift_found_total", ())] == 1
    deliveries = {
        dict(labels)["outcome"]: v
        for (name, labels), v in after.items()
        if name == "plumb_webhook_deliveries_total" and v
    }
    assert deliveries == {"unsigned": 1, "bad-signature": 1, "replayed": 1, "cycle": 1}


def _post(loop: Loop, delivery: str, body: bytes, event: str = "push") -> int:
    headers = {
        "X-Hub-Signature-256": sign(SECRET, body),
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Event": event,
    }
    return loop.call("POST", "/sync", body, **headers)[0]


def test_pushes_during_a_cycle_make_one_webhook_run_recording_every_delivery(
    loop: Loop, cli: Cli
) -> None:
    # The first cycle starts at once and makes the stack: seconds of work to land pushes in.
    loop.wait_for("the first cycle", lambda: "cycle-started" in _event_names(loop), 60)
    assert _post(loop, "e2e-issue", b'{"action": "opened"}', event="issues") == 200
    assert _post(loop, "e2e-tag", json.dumps({"ref": "refs/tags/v1"}).encode()) == 200
    assert _post(loop, "e2e-other", json.dumps({"ref": "refs/heads/dev"}).encode()) == 200
    for delivery in ("e2e-a", "e2e-b"):
        body = json.dumps({"ref": "refs/heads/main", "delivery": delivery}).encode()
        assert _post(loop, delivery, body) == 202
    loop.wait_for("the cycle the pushes asked for", lambda: loop.runs() >= 2, 120)
    time.sleep(2)  # room for a cycle nobody asked for
    assert loop.runs() == 2, "the events, the tag and the other branch made no cycle"

    first, second = (json.loads(cli("report", n, "--format", "json", check=0).stdout) for n in "12")
    assert first["trigger"] == "schedule" and "deliveries" not in first.get("actor", {})
    assert second["trigger"] == "webhook", second
    assert second["actor"]["deliveries"] == ["e2e-a", "e2e-b"]
    Draft202012Validator(SCHEMA).validate(second)
    markdown = cli("report", "2", "--format", "markdown", check=0).stdout
    assert "| Webhook deliveries | `e2e-a, e2e-b` |" in markdown, markdown
    html = cli("report", "2", "--format", "html", check=0).stdout
    assert '<th>Webhook deliveries</th><td class="mono">e2e-a, e2e-b</td>' in html


def _event_names(loop: Loop) -> list[str]:
    return [e["event"] for e in events(loop)]
