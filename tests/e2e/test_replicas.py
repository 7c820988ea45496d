"""Replicas of `plumb run` sharing one state: each stack written by one replica at a time,
every stack converged, and the stacks of a replica that dies taken over when its leases end.

Six small environments (a network and a bucket each) keep the runs short; the replicas are
real `plumb run --once` processes on one moto server and one state database, SQLite or the
PostgreSQL that .ci/run starts.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.engine.lease import Holder
from controller.state.store import Store
from tests.e2e.conftest import Cli, git_repo

STACKS = [f"fleet-e{i}" for i in range(1, 7)]


def _environment(i: int) -> str:
    return f"""apiVersion: plumb/v1
kind: Environment
metadata: {{product: fleet, env: e{i}, region: us-east-1}}
spec:
  network:
    cidr: 10.{40 + i}.0.0/16
    availabilityZones: [us-east-1a, us-east-1b]
    publicSubnets: [10.{40 + i}.0.0/24, 10.{40 + i}.1.0/24]
    privateSubnets: [10.{40 + i}.10.0/24, 10.{40 + i}.11.0/24]
    natGateways: 0
  storage: {{expireAfterDays: 30, deletionPolicy: Delete}}
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state(request: pytest.FixtureRequest, cli: Cli) -> Iterator[str]:
    if request.param == "sqlite":
        yield cli.env["PLUMB_STATE"]
        return
    request.getfixturevalue("pg_state")  # skips when no PostgreSQL is given
    yield cli.env["PLUMB_STATE"]


@pytest.fixture
def fleet(workdir: Path) -> Path:
    specs = workdir / "fleet"
    specs.mkdir()
    for i in range(1, 7):
        (specs / f"fleet-e{i}.yaml").write_text(_environment(i))
    return git_repo(workdir / "git", specs)


def _replica(cli: Cli, repo: Path, name: str, *extra: str) -> subprocess.Popen[str]:
    env = {**cli.env, "PLUMB_HOLDER_HOST": name}
    return subprocess.Popen(
        [*_plumb(), *extra, "run", "--once", "--repo", str(repo)],
        cwd=cli.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _plumb() -> list[str]:
    return [sys.executable, "-m", "controller"]


def _applies(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every apply run of each stack, in start order."""
    store = Store(url)
    try:
        runs = [r for r in store.runs.recent(limit=1000) if r["command"] == "apply"]
    finally:
        store.close()
    by_stack: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for stack in run["stacks"]:
            by_stack.setdefault(stack, []).append(run)
    for stack_runs in by_stack.values():
        stack_runs.sort(key=lambda r: r["startedAt"])
    return by_stack


def _overlaps(by_stack: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Runs of one stack whose start and end interleave. A run killed before its end has
    no end to compare: its lease, not its record, says when it stopped (the run that took
    its stack over seals it as interrupted, at that later time)."""
    found = []
    for stack, runs in by_stack.items():
        ended = [r for r in runs if r["finishedAt"] and r["outcome"] != "interrupted"]
        for before, after in itertools.pairwise(ended):
            if after["startedAt"] < before["finishedAt"]:
                found.append(f"{stack}: run {before['id']} and run {after['id']} overlap")
    return found


def _vpcs_by_stack(aws: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for vpc in aws.ec2.describe_vpcs()["Vpcs"]:
        tags = {t["Key"]: t["Value"] for t in vpc.get("Tags", [])}
        if "plumb:stack" in tags:
            counts[tags["plumb:stack"]] = counts.get(tags["plumb:stack"], 0) + 1
    return counts


@pytest.mark.parametrize("replicas", [2, 3])
def test_replicas_share_the_stacks_and_never_write_one_at_once(
    cli: Cli, aws: Any, fleet: Path, state: str, replicas: int
) -> None:
    started = time.monotonic()
    procs = [_replica(cli, fleet, f"replica-{n}") for n in range(replicas)]
    outputs = [(p, *p.communicate(timeout=240)) for p in procs]
    assert all(p.returncode == 0 for p, _, _ in outputs), "\n\n".join(o + e for _, o, e in outputs)
    applies = _applies(state)
    assert sorted(applies) == STACKS
    assert _overlaps(applies) == []
    assert _vpcs_by_stack(aws) == dict.fromkeys(STACKS, 1)
    assert all(
        r["outcome"] in ("succeeded", "no-changes") for runs in applies.values() for r in runs
    )
    # Work was shared: a held stack was left to its holder rather than waited for or failed.
    skipped = sum(out.count("skipped, another plumb has it") for _, out, _ in outputs)
    print(
        f"{replicas} replicas, {len(STACKS)} stacks: "
        f"{sum(len(r) for r in applies.values())} applies, {skipped} skips, 0 overlaps, "
        f"{time.monotonic() - started:.1f} s"
    )
    cli("plan", str(fleet / "specs"), "--detailed-exitcode", check=0)


def test_a_replica_that_dies_hands_its_stacks_on_when_its_leases_end(
    cli: Cli, aws: Any, fleet: Path, state: str
) -> None:
    lease = 6
    held: list[str] = []
    for _ in range(3):  # a kill in the instant between two stacks leaves nothing held
        doomed = _replica(cli, fleet, "replica-doomed", "--lease", str(lease))
        _wait_for_a_lock(cli, doomed)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
        killed = time.monotonic()
        # What it held when it died (it may have moved on from the stack first seen).
        locks = [lock for lock in _locks(cli) if "replica-doomed" in lock["holder"]]
        held = [lock["stack"] for lock in locks]
        if held:
            break
    [held] = held
    # Killed in the instant between taking the lease and naming its run in it, the holder
    # names no run: then there is no run to close.
    named_run = Holder.parse(str(locks[0]["holder"])).run
    # A replica on another machine sees the lease and leaves the stack alone until it ends.
    taken_over = None
    for _ in range(20):
        survivor = _replica(cli, fleet, "replica-b", "--lease", str(lease))
        out, err = survivor.communicate(timeout=240)
        assert survivor.returncode == 0, (out, err)
        if "skipped" not in out:
            taken_over = time.monotonic() - killed
            break
        assert f"{held}: skipped" in out, out  # only the dead replica's stack waits
        time.sleep(1)
    assert taken_over is not None, f"{held} was never taken over"
    assert taken_over >= lease - 2, "a live-looking lease was broken early"
    applies = _applies(state)
    assert _overlaps(applies) == []
    assert _vpcs_by_stack(aws) == dict.fromkeys(STACKS, 1)
    # the dead replica's run no longer shows as running: the takeover sealed it
    if named_run:
        # sealed: interrupted by the takeover, or by itself when the kill came between its
        # seal and its lease's release (the report is written in between)
        (named,) = [r for r in applies[held] if r["id"] == named_run]
        assert named["hash"] and named["outcome"] != "running", named
    # killed before it named its run in the lease, the run it had begun is sealed too
    assert [r["id"] for r in applies[held] if r["outcome"] == "running"] == []
    print(
        f"the dead replica's stack {held} was taken over after {taken_over:.1f} s ({lease} s lease)"
    )


def _locks(cli: Cli) -> list[dict[str, Any]]:
    done = cli("locks", "--format", "json")
    if done.returncode == 1 and "no plumb run has used it" in done.stderr:
        return []  # the replica just started has not made the state's tables yet
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def _wait_for_a_lock(cli: Cli, proc: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        locks = _locks(cli)
        mine = [lock for lock in locks if "replica-doomed" in lock["holder"]]
        if mine:
            return str(mine[0]["stack"])
        time.sleep(0.2)
    raise AssertionError("the replica never took a lease")
