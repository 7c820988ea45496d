"""Drift fought over by another writer: three repairs, then plumb backs off and says why."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from controller.state.drift import (
    FIRST_BACKOFF,
    MAX_BACKOFF,
    DriftRecord,
    as_record,
    backoff,
    held_back,
    record,
)

T0 = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)
FIELD = "lifecycle.expireAfterDays"


def _row() -> SimpleNamespace:
    return SimpleNamespace(
        status="in-sync",
        drift_streak=0,
        drift_fields=[],
        drift_repaired=False,
        drift_since=None,
        drift_seen=[],
        drift_retry_at=None,
        desired_hash="",
    )


def _minutes(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def test_three_repairs_in_a_row_make_it_non_converging_with_a_first_backoff() -> None:
    row = _row()
    for n in range(3):
        record(row, [FIELD], True, {FIELD: 7}, _minutes(n * 5))
        assert (row.status == "non-converging") is (n == 2)
    assert row.drift_since == T0, "since the first drift of the streak"
    assert row.drift_retry_at == _minutes(10) + FIRST_BACKOFF
    assert row.drift_seen == [{FIELD: 7}], "one value, found three times"


def test_while_held_back_the_count_and_the_retry_time_stand() -> None:
    row = _row()
    for n in range(3):
        record(row, [FIELD], True, {FIELD: 7}, _minutes(n * 5))
    retry = row.drift_retry_at
    record(row, [FIELD], False, {FIELD: 8}, _minutes(15))  # came back after repair 3
    streak = row.drift_streak
    for n in range(4, 8):
        record(row, [FIELD], False, {FIELD: 8}, _minutes(n * 5))
    assert row.drift_streak == streak and row.drift_retry_at == retry
    assert row.drift_seen == [{FIELD: 7}, {FIELD: 8}]


def test_each_probe_that_fails_doubles_the_backoff_up_to_a_day() -> None:
    row = _row()
    for n in range(3):
        record(row, [FIELD], True, {FIELD: 7}, _minutes(n))
    waits = []
    at = _minutes(3)
    for _ in range(8):
        record(row, [FIELD], False, {FIELD: 7}, at)  # the drift is back: held back
        at = row.drift_retry_at
        record(row, [FIELD], True, {FIELD: 7}, at)  # the backoff is over: one repair
        waits.append(row.drift_retry_at - at)
    assert waits[:3] == [2 * FIRST_BACKOFF, 4 * FIRST_BACKOFF, 8 * FIRST_BACKOFF]
    assert waits[-1] == MAX_BACKOFF
    assert backoff(0) == FIRST_BACKOFF and backoff(40) == MAX_BACKOFF


def test_a_clean_observation_or_another_field_starts_over() -> None:
    row = _row()
    for n in range(3):
        record(row, [FIELD], True, {FIELD: 7}, _minutes(n))
    record(row, [], False, None, _minutes(4))
    assert (row.status, row.drift_streak, row.drift_retry_at, row.drift_seen) == (
        "in-sync",
        0,
        None,
        [],
    )
    for n in range(3):
        record(row, [FIELD], True, {FIELD: 7}, _minutes(10 + n))
    record(row, ["tags"], True, {"tags": {}}, _minutes(20))
    assert row.drift_streak == 0 and row.drift_since == _minutes(20)
    assert row.status == "in-sync"


def test_the_plan_is_told_the_field_the_values_and_since_when() -> None:
    row = _row()
    for n in range(3):
        record(row, [FIELD], True, {FIELD: 7 + n % 2}, _minutes(n))
    found = as_record(row)
    why = held_back(found, [FIELD], _minutes(30))
    assert why is not None
    assert why.startswith("non-converging since 2026-12-02T03:00:00Z: lifecycle.expireAfterDays")
    assert "3 repairs in a row" in why
    assert f"{FIELD} = 8; {FIELD} = 7" in why, "each value once, the latest last"
    assert "tries once more after 2026-12-02T04:02:00Z" in why
    assert held_back(found, [FIELD, "tags"], _minutes(30)) is None, "other fields: repaired"
    assert held_back(found, [FIELD], _minutes(62)) is None, "the backoff is over"
    assert held_back(DriftRecord(1, [FIELD]), [FIELD], _minutes(30)) is None
