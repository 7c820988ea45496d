"""The HTTP endpoint of a real `plumb run`: ready after its first cycle, metrics that move,
and a signed webhook delivery that makes it sync now.

The interval is long on purpose: a second cycle within the test can only come from
POST /sync. One small environment (a network without NAT, a bucket) keeps cycles short.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controller.webhook import sign
from tests.e2e.conftest import Cli, git_repo

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


def _free_port() -> int:
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


@pytest.fixture
def loop(cli: Cli, workdir: Path) -> Iterator[Loop]:
    specs = workdir / "hook"
    specs.mkdir()
    (specs / "hook-e1.yaml").write_text(SPEC)
    repo = git_repo(workdir / "git", specs)
    port = _free_port()
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
        # Until SIGTERM is handled gracefully, the default action (exit by signal) is fine.
        assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM), served.log()


def test_the_loop_serves_readiness_metrics_and_a_signed_sync(loop: Loop) -> None:
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
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    code, _ = loop.call("POST", "/sync", body, **{"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert code == 401
    code, _ = loop.call("POST", "/sync", body)
    assert code == 401
    signed = {"X-Hub-Signature-256": sign(SECRET, body), "X-GitHub-Delivery": "e2e-1"}
    code, answer = loop.call("POST", "/sync", body, **signed)
    assert code == 202, answer
    loop.wait_for("a cycle after the webhook", lambda: loop.runs() > runs, 60)
    assert loop.call("POST", "/sync", body, **signed)[0] == 401, "replayed"
    after = loop.metrics()
    assert after[("plumb_runs_total", (("outcome", "no-changes"),))] >= 1
    refused = {
        dict(labels)["reason"]: v
        for (name, labels), v in after.items()
        if name == "plumb_webhook_refused_total"
    }
    assert refused == {"unsigned": 1, "bad-signature": 1, "replayed": 1}
    assert after[("plumb_webhook_accepted_total", ())] == 1
