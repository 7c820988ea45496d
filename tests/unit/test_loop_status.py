"""The loop's status: healthy until successes stop for a few intervals, ready after one."""

from __future__ import annotations

from controller.loop.status import STALE_INTERVALS, LoopStatus, iso

START = 1_796_180_645.0  # 2026-12-02T03:04:05Z


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def test_times_are_iso_8601_utc() -> None:
    assert iso(START) == "2026-12-02T03:04:05Z" and iso(None) is None


def test_a_new_loop_is_healthy_but_not_ready() -> None:
    status = LoopStatus(60, grace=10, clock=Clock())
    assert status.healthy() and not status.ready
    body = status.to_json()
    assert body["startedAt"] == "2026-12-02T03:04:05Z" and body["lastSuccessAt"] is None


def test_the_loop_turns_stale_when_no_cycle_succeeds_for_a_few_intervals() -> None:
    clock = Clock()
    status = LoopStatus(60, grace=10, clock=clock)
    clock.now += 30
    status.cycle_ended(0)
    assert status.ready and status.to_json()["lastOutcome"] == "succeeded"
    clock.now += STALE_INTERVALS * 60 + 10
    assert status.healthy(), "exactly at the limit is still healthy"
    status.cycle_ended(1)  # failed cycles keep the loop alive but get nowhere
    clock.now += 1
    assert not status.healthy() and status.ready, "ready stays once seen"
    body = status.to_json()
    assert body["healthy"] is False and body["lastOutcome"] == "failed" and body["lastExit"] == 1
    assert body["cycles"] == 2 and body["lastSuccessAt"] == iso(START + 30)


def test_a_loop_that_never_succeeds_is_stale_counted_from_its_start() -> None:
    clock = Clock()
    status = LoopStatus(10, grace=0, clock=clock)
    status.cycle_started()
    assert status.to_json()["cycleRunningSince"] == iso(START)
    clock.now += STALE_INTERVALS * 10 + 1
    assert not status.healthy(), "a first cycle stuck for ever is caught"
    status.cycle_ended(1, crashed=True)
    assert status.to_json()["lastOutcome"] == "crashed"
    status.cycle_ended(0)
    assert status.healthy() and status.to_json()["cycleRunningSince"] is None
