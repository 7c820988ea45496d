"""Stack leases: taken one stack at a time, renewed while held, named for the operator."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from controller.engine.lease import Holder, Leases, describe_lock, here
from controller.errors import LockError
from controller.state import unsealed
from controller.state.store import Store
from controller.state.unsealed import ABANDONED_AFTER
from tests.unit.conftest import Clock


class Ticks:
    """A monotonic clock that `sleep` moves, so waiting takes no real time."""

    def __init__(self, wall: Clock) -> None:
        self.now, self.wall, self.slept = 0.0, wall, 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds
        self.wall.advance(seconds)


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    return int(done.stdout)


def _leases(store: Store, ticks: Ticks, host: str = "host-a", pid: int | None = None) -> Leases:
    holder = Holder(host, pid or os.getpid(), None, os.urandom(4).hex())
    return Leases(store, 30, holder=holder, sleep=ticks.sleep, clock=ticks)


def test_holder_names_host_pid_run_and_reads_back() -> None:
    mine = here(run=17)
    assert Holder.parse(str(mine)) == mine
    assert mine.describe() == f"plumb pid {os.getpid()} on {mine.host} (run 17)"
    old_style = Holder.parse("build-7:4242:0123456789abcdef")  # written before runs were named
    assert (old_style.host, old_style.pid, old_style.run) == ("build-7", 4242, None)


def test_a_stack_has_one_holder_and_the_refusal_names_it(
    open_store: Callable[[], Store], clock: Clock
) -> None:
    ticks = Ticks(clock)
    first, second = _leases(open_store(), ticks), _leases(open_store(), ticks, host="host-b")
    first.take("acme-prod")
    first.for_run(12)
    second.take("acme-staging")  # stacks are taken one by one, by whoever asks first
    with pytest.raises(LockError) as refused:
        second.take("acme-prod")
    message = str(refused.value)
    assert f"stack acme-prod is locked by plumb pid {os.getpid()} on host-a (run 12)" in message
    assert "its lease has 30 s left" in message and "--wait" in message
    first.release()
    second.take("acme-prod")
    assert {lock["stack"] for lock in second.store.locks.rows()} == {"acme-prod", "acme-staging"}
    second.release()
    assert second.store.locks.rows() == []


def test_wait_takes_the_stack_once_its_holder_lets_go(
    open_store: Callable[[], Store], clock: Clock
) -> None:
    ticks = Ticks(clock)
    store = open_store()
    holder = _leases(store, ticks)
    holder.take("acme-prod")
    waiter = _leases(open_store(), ticks, host="host-b")
    original_sleep = ticks.sleep

    def sleep_then_release(seconds: float) -> None:
        original_sleep(seconds)
        if ticks.slept >= 5:
            holder.release()

    waiter._sleep = sleep_then_release
    waiter.take("acme-prod", wait=60)
    assert 5 <= ticks.slept < 7
    assert waiter.holds("acme-prod")
    with pytest.raises(LockError):  # and a wait that runs out is refused
        _leases(open_store(), ticks, host="host-c").take("acme-prod", wait=3)
    waiter.release()


def test_renewal_keeps_a_long_run_s_stacks_and_a_lost_lease_is_noticed(
    open_store: Callable[[], Store], clock: Clock
) -> None:
    ticks = Ticks(clock)
    runner = _leases(open_store(), ticks)
    runner.take("acme-prod")
    other = _leases(open_store(), ticks, host="host-b")
    for _ in range(10):  # five minutes of a 30 s lease, renewed every 10 s
        clock.advance(10)
        runner.renew()
        assert not other.try_take("acme-prod")
    assert runner.holds("acme-prod")
    clock.advance(31)  # the holder stopped renewing (paused, partitioned): the lease runs out
    assert other.try_take("acme-prod")
    runner.renew()
    assert not runner.holds("acme-prod"), "a run must see that it lost its stack"
    other.release()
    runner.release()


def test_the_heartbeat_renews_without_being_asked(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path}/s.db")
    with Leases(store, 3) as held:
        held.take("acme-prod")
        first = store.locks.get("acme-prod")["expiresAt"]
        held._stop.wait(2.5)  # the beat comes every second
        assert store.locks.get("acme-prod")["expiresAt"] > first
    assert store.locks.get("acme-prod") is None


def test_a_dead_holder_on_this_host_is_released_at_once(
    open_store: Callable[[], Store], clock: Clock
) -> None:
    gone = _dead_pid()
    ticks = Ticks(clock)
    here_host = here().host
    dead = _leases(open_store(), ticks, host=here_host, pid=gone)
    dead.take("acme-prod")
    elsewhere = _leases(open_store(), ticks, host="host-b", pid=gone)
    elsewhere.take("acme-staging")
    mine = _leases(open_store(), ticks, host=here_host)
    told: list[str] = []
    mine._on_takeover = told.append
    assert mine.try_take("acme-prod")  # its pid is gone: nothing is writing for it
    assert not mine.try_take("acme-staging")  # another host's pid says nothing here
    assert told == ["acme-prod"], "taken from the dead: a takeover"
    mine.release()


def test_describe_lock_counts_down(open_store: Callable[[], Store], clock: Clock) -> None:
    store = open_store()
    store.locks.acquire("acme-prod", "h:1:2:n", 60)
    clock.advance(45)
    text = describe_lock(store.locks.get("acme-prod"))
    assert text.endswith("its lease has 15 s left")


def test_a_killed_holder_not_yet_reaped_counts_as_dead(
    open_store: Callable[[], Store], clock: Clock
) -> None:
    import signal
    import time

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        child.send_signal(signal.SIGKILL)
        time.sleep(0.5)  # dead, and left unreaped: a zombie
        ticks = Ticks(clock)
        here_host = here().host
        _leases(open_store(), ticks, host=here_host, pid=child.pid).take("acme-prod")
        assert _leases(open_store(), ticks, host=here_host).try_take("acme-prod")
    finally:
        child.wait()


def test_only_a_lease_taken_from_an_expired_or_dead_holder_is_told_as_a_takeover(
    open_store: Callable[[], Store], clock: Clock
) -> None:
    ticks = Ticks(clock)
    told: list[str] = []
    first = _leases(open_store(), ticks)
    first.take("acme-prod")
    second = _leases(open_store(), ticks, host="host-b")
    second._on_takeover = told.append
    second.take("acme-staging")  # free: not a takeover
    assert not second.try_take("acme-prod") and told == []
    clock.advance(31)  # the first holder stopped renewing
    assert second.try_take("acme-prod") and told == ["acme-prod"]
    second.release()
    first.release()
    third = _leases(open_store(), ticks, host="host-c")
    third._on_takeover = told.append
    third.take("acme-prod")  # released properly before: nobody's to take over
    assert told == ["acme-prod"]
    third.release()


def test_a_run_begun_by_a_holder_that_died_before_naming_it_is_found(
    open_store: Callable[[], Store], clock: Clock
) -> None:

    store = open_store()
    ticks = Ticks(clock)
    dead = _leases(store, ticks, host="host-b")
    dead.take("acme-prod")  # killed right after: its lease names no run
    clock.advance(1)
    begun = store.runs.begin("schedule", "apply", ["acme-prod"])
    other = store.runs.begin("cli-plan", "plan", ["acme-prod"])  # a plan holds no lease
    dead._stop.set()
    clock.advance(60)  # the lease expires
    mine = _leases(open_store(), ticks)
    mine.take("acme-prod")
    assert set(mine.unnamed) == {"acme-prod"} and not mine.orphaned_runs
    now = store.runs.begin("schedule", "apply", ["acme-prod"])
    found = unsealed.unnamed_applies(store, mine.unnamed, now)
    assert list(found) == [begun], (found, other)
    assert "held stack acme-prod since" in found[begun]
    mine.release()


def test_a_run_whose_process_is_gone_is_sealed_by_the_next(
    open_store: Callable[[], Store], clock: Clock, tmp_path
) -> None:
    """On this host at once (its pid is dead); from another host once it is a day old and
    no live lease holds it."""
    import socket

    from controller.audit.verify import verify
    from controller.config import Settings
    from controller.engine.runner import Runner

    gone = _dead_pid()
    host = socket.gethostname()
    store = open_store()
    killed = store.runs.begin("cli-plan", "plan", ["acme-prod"], actor={"host": host, "pid": gone})
    alive = store.runs.begin(
        "cli-plan", "plan", ["acme-prod"], actor={"host": host, "pid": os.getpid()}
    )
    elsewhere = store.runs.begin(
        "cli-plan", "plan", ["acme-prod"], actor={"host": "host-b", "pid": 1}
    )
    now = store.runs.begin("cli-plan", "plan", ["acme-prod"])
    Runner(Settings(reports_dir=tmp_path), store)._seal_dead_here(now)
    assert store.runs.get(killed)["outcome"] == "interrupted"
    assert f"pid {gone} on {host}" in store.runs.get(killed)["errors"][0]
    assert [store.runs.get(r)["outcome"] for r in (alive, elsewhere)] == ["running", "running"]
    ticks = Ticks(clock)
    holder = _leases(store, ticks, host="host-c")
    holder.take("acme-dev")
    held = store.runs.begin("schedule", "apply", ["acme-dev"], actor={"host": "host-c"})
    holder.for_run(held)
    clock.advance(ABANDONED_AFTER.total_seconds() - 5)
    holder.renew()
    store.chain.seal(now, "no-changes")
    soon = store.runs.begin("cli-plan", "plan", ["acme-prod"])
    Runner(Settings(reports_dir=tmp_path), store)._seal_dead_here(soon)
    assert store.runs.get(elsewhere)["outcome"] == "running", "not a day old yet"
    clock.advance(10)
    later = store.runs.begin("cli-plan", "plan", ["acme-prod"])
    Runner(Settings(reports_dir=tmp_path), store)._seal_dead_here(later)
    assert store.runs.get(elsewhere)["outcome"] == "interrupted"
    assert "on host-b and was still open 24 h later" in store.runs.get(elsewhere)["errors"][0]
    assert store.runs.get(alive)["outcome"] == "running", "its process is alive"
    assert store.runs.get(held)["outcome"] == "running", "a live lease holds it"
    holder.release()
    for run in (alive, held, soon, later):
        store.chain.seal(run, "no-changes")
    assert verify(store).ok
