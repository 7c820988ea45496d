"""The real `plumb run` loop over time: a push applied within an interval, and SIGTERM
mid-apply ending the run as interrupted, its leases released, the process exiting 0."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.cli.demo import drift
from controller.loop.webhook import sign
from controller.state.store import Store
from tests.e2e.conftest import Cli, git_repo
from tests.e2e.loop_process import Loop, events, free_port
from tests.e2e.test_endpoint import SECRET, SPEC

GIT = ["-c", "user.name=Ada", "-c", "user.email=ada@acme.example"]


def _start(cli: Cli, repo: Path, *extra: str) -> Loop:
    port = free_port()
    proc = cli.popen(
        "run", "--repo", str(repo), "--listen", f"127.0.0.1:{port}", "--log-format", "json",
        *extra,
    )  # fmt: skip
    return Loop(proc, port)


def _stop(loop: Loop, seconds: float = 60) -> int:
    loop.proc.send_signal(signal.SIGTERM)
    try:
        return loop.proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        loop.proc.kill()
        loop.proc.wait()
        pytest.fail(f"plumb run did not stop within {seconds} s of SIGTERM" + loop.log())


@pytest.fixture
def stopped() -> Iterator[list[Loop]]:
    """Loops started by a test, stopped whatever the test's end."""
    loops: list[Loop] = []
    yield loops
    for loop in loops:
        if loop.proc.poll() is None:
            loop.proc.kill()
            loop.proc.wait()


def _small_repo(workdir: Path) -> Path:
    """A git repository of one small stack (a network without NAT, a bucket)."""
    specs = workdir / "hook"
    specs.mkdir()
    (specs / "hook-e1.yaml").write_text(SPEC)
    return git_repo(workdir / "git", specs)


def _runs(cli: Cli) -> list[dict[str, Any]]:
    store = Store(cli.env["PLUMB_STATE"])
    try:
        return [store.runs.get(r["id"]) for r in reversed(store.runs.recent(limit=100))]
    finally:
        store.close()


def test_a_pushed_commit_is_applied_within_one_interval(
    cli: Cli, aws: Any, workdir: Path, stopped: list[Loop]
) -> None:
    repo = _small_repo(workdir)
    loop = _start(cli, repo, "--interval", "10", "--jitter", "0")
    stopped.append(loop)
    loop.wait_for("/readyz 200", lambda: loop.call("GET", "/readyz")[0] == 200, 120)

    spec = repo / "specs" / "hook-e1.yaml"
    spec.write_text(spec.read_text().replace("expireAfterDays: 30", "expireAfterDays: 45"))
    subprocess.run(["git", "-C", str(repo), *GIT, "commit", "-qam", "keep 45 days"], check=True)

    def expiry() -> int:
        rules = aws.s3.get_bucket_lifecycle_configuration(Bucket="hook-e1-storage")["Rules"]
        return int(rules[0]["Expiration"]["Days"])

    # One interval, plus the cycle's own few seconds.
    loop.wait_for("the pushed commit applied", lambda: expiry() == 45, 10 + 20)
    assert _stop(loop) == 0
    seen = events(loop)
    assert {"cycle-started", "run-sealed", "cycle-ended"} <= {e["event"] for e in seen}
    sealed = [e for e in seen if e["event"] == "run-sealed"]
    assert all(e["stack"] == "hook-e1" and isinstance(e["run"], int) for e in sealed), sealed
    assert all(e["time"].endswith("Z") for e in seen)


def test_sigterm_mid_apply_ends_the_run_interrupted_and_exits_0(
    cli: Cli, aws: Any, workdir: Path, stopped: list[Loop]
) -> None:
    (workdir / "specs" / "acme-staging.yaml").unlink()
    repo = git_repo(workdir, workdir / "specs")
    loop = _start(cli, repo, "--interval", "600")
    stopped.append(loop)

    def applying() -> bool:
        return any(e["event"] == "action" and e["status"] == "applied" for e in events(loop))

    loop.wait_for("the first write", applying, 120)
    assert _stop(loop) == 0, "SIGTERM is a clean stop" + loop.log()

    (run,) = _runs(cli)
    assert run["outcome"] == "interrupted", run["errors"]
    assert any("told to stop" in e for e in run["errors"])
    outcomes = {c["outcome"] for c in run["changes"]}
    assert {"applied", "skipped"} <= outcomes, outcomes
    assert (
        len(
            aws.ec2.describe_vpcs(Filters=[{"Name": "tag:plumb:stack", "Values": ["acme-prod"]}])[
                "Vpcs"
            ]
        )
        == 1
    )
    assert "No stack is locked" in cli("locks", check=0).stdout
    assert "plumb run: stopped" in loop.log()

    # The next start goes on from where the stopped run left off.
    again = _start(cli, repo, "--interval", "600")
    stopped.append(again)
    again.wait_for("/readyz 200", lambda: again.call("GET", "/readyz")[0] == 200, 120)
    assert _stop(again) == 0
    assert _runs(cli)[-1]["outcome"] == "succeeded"


def test_a_fighting_writer_ends_non_converging_and_plumb_stops_writing(
    cli: Cli, aws: Any, workdir: Path, stopped: list[Loop]
) -> None:
    repo = _small_repo(workdir)
    cli.env["PLUMB_WEBHOOK_SECRET"] = SECRET
    # A long interval: each cycle below is asked for, so the test knows when one ran.
    loop = _start(cli, repo, "--interval", "600")
    stopped.append(loop)
    loop.wait_for("/readyz 200", lambda: loop.call("GET", "/readyz")[0] == 200, 120)

    fighting = threading.Event()

    def writer() -> None:  # someone's script that insists on 7 days
        while not fighting.wait(0.2):
            drift.shorten_lifecycle("hook-e1", days=7)

    drift.shorten_lifecycle("hook-e1", days=7)  # the first cycle below finds it already
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        for n in range(6):
            _one_cycle(loop, f"fight-{n}")
    finally:
        fighting.set()
        thread.join()
    assert _stop(loop) == 0

    runs = _runs(cli)[1:]  # after the first, which made the stack
    bucket = "hook-e1/storage/bucket"
    wrote = [_lifecycle_writes(r) for r in runs]
    assert wrote == [1, 1, 1, 0, 0, 0], "three repairs, then no more writes"
    for run in runs[3:]:
        (change,) = [c for c in run["changes"] if c["logicalId"] == bucket]
        assert change["outcome"] == "refused"
        assert change["reason"].startswith("non-converging since ")
        assert "lifecycle" in change["reason"] and "= 7" in change["reason"]
    store = Store(cli.env["PLUMB_STATE"])
    try:
        (row,) = [r for r in store.resources.rows("hook-e1") if r["logicalId"] == bucket]
    finally:
        store.close()
    assert row["status"] == "non-converging" and row["driftSince"] and row["driftRetryAt"]


def _one_cycle(loop: Loop, delivery: str) -> None:
    def cycles() -> int:
        return int(json.loads(loop.call("GET", "/healthz")[1])["cycles"])

    before = cycles()
    body = json.dumps({"ref": "refs/heads/main", "delivery": delivery}).encode()
    headers = {
        "X-Hub-Signature-256": sign(SECRET, body),
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Event": "push",
    }
    assert loop.call("POST", "/sync", body, **headers)[0] == 202
    loop.wait_for(f"cycle {before + 1}", lambda: cycles() > before, 60)


def _lifecycle_writes(run: dict[str, Any]) -> int:
    ops = run["apiCalls"].get("byOperation", {})
    return int(ops.get("s3:PutBucketLifecycleConfiguration", 0))
