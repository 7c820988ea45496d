"""The real `plumb run` loop over time: a push applied within an interval, and SIGTERM
mid-apply ending the run as interrupted, its leases released, the process exiting 0."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.state.store import Store
from tests.e2e.conftest import Cli, git_repo
from tests.e2e.loop_process import Loop, events, free_port
from tests.e2e.test_endpoint import SPEC

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


def _runs(cli: Cli) -> list[dict[str, Any]]:
    store = Store(cli.env["PLUMB_STATE"])
    try:
        return [store.run(r["id"]) for r in reversed(store.runs(limit=100))]
    finally:
        store.close()


def test_a_pushed_commit_is_applied_within_one_interval(
    cli: Cli, aws: Any, workdir: Path, stopped: list[Loop]
) -> None:
    specs = workdir / "hook"
    specs.mkdir()
    (specs / "hook-e1.yaml").write_text(SPEC)
    repo = git_repo(workdir / "git", specs)
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
