"""Requests for a cycle now: never two cycles at once, one more after a busy one."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from controller.loop.cycle_gate import CycleGate


class Cycles:
    """A cycle that blocks until the test lets it end, and notes any overlap."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)
        self.release = threading.Semaphore(0)
        self.count = 0
        self.inside = 0
        self.overlapped = False
        self.asked: list[list[str]] = []

    def __call__(self, asked: list[str]) -> int:
        self.asked.append(asked)
        self.inside += 1
        self.overlapped |= self.inside > 1
        self.count += 1
        self.started.release()
        assert self.release.acquire(timeout=10)
        self.inside -= 1
        return 0


def test_an_idle_loop_is_told_to_start_a_cycle() -> None:
    gate = CycleGate(lambda asked: 0)
    assert gate.request() is True and not gate.running
    assert gate.run() == 0


def test_requests_during_a_cycle_make_exactly_one_more_after_it() -> None:
    cycles = Cycles()
    gate = CycleGate(cycles)
    job = threading.Thread(target=gate.run)
    job.start()
    assert cycles.started.acquire(timeout=10)
    assert [gate.request() for _ in range(5)] == [False] * 5, "the running cycle goes again"
    cycles.release.release()
    assert cycles.started.acquire(timeout=10), "one more cycle"
    cycles.release.release()
    job.join(timeout=10)
    assert not job.is_alive() and cycles.count == 2 and not cycles.overlapped
    assert not gate.running and gate.request() is True


def test_a_request_before_the_cycle_starts_is_served_by_it() -> None:
    cycles = Cycles()
    gate = CycleGate(cycles)
    assert gate.request() is True  # the caller makes the job due; it starts afterwards
    cycles.release.release()
    gate.run()
    assert cycles.count == 1


@pytest.fixture
def scheduler() -> Iterator[BackgroundScheduler]:
    running = BackgroundScheduler()
    running.start()
    yield running
    running.shutdown(wait=True)


def test_a_trigger_runs_the_scheduled_job_now_and_once_more_if_it_is_busy(
    scheduler: BackgroundScheduler,
) -> None:
    cycles = Cycles()
    gate = CycleGate(cycles)
    # As the loop adds it, though with an interval no test waits for.
    scheduler.add_job(gate.run, "interval", id="cycle", hours=1, max_instances=1, coalesce=True)
    trigger = gate.trigger_for(scheduler, "cycle")
    trigger("d-1")
    assert cycles.started.acquire(timeout=10), "the job ran at once"
    for n in (2, 3, 4):  # pushes landing while the cycle runs
        trigger(f"d-{n}")
    cycles.release.release()
    assert cycles.started.acquire(timeout=10), "one more cycle, after the first"
    cycles.release.release()
    assert not cycles.started.acquire(timeout=1.5), "three requests, one more cycle"
    assert cycles.count == 2 and not cycles.overlapped
    assert cycles.asked == [["d-1"], ["d-2", "d-3", "d-4"]], "each cycle knows who asked"
    next_run = scheduler.get_job("cycle").next_run_time
    assert next_run > datetime.datetime.now(next_run.tzinfo) + datetime.timedelta(minutes=59)


def test_a_scheduled_cycle_nobody_asked_for_is_told_so_and_requests_are_not_served_twice() -> None:
    cycles = Cycles()
    gate = CycleGate(cycles)
    cycles.release.release()
    gate.run()  # the interval's cycle
    assert gate.request("d-1") is True
    cycles.release.release()
    gate.run()
    cycles.release.release()
    gate.run()
    assert cycles.asked == [[], ["d-1"], []]
