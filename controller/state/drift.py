"""Drift that comes back after each repair: counted, then left alone with a backoff.

A field plumb repairs and finds changed again at the next run is being fought over: some
other writer (a person, a script, an autoscaler) sets it back. After NON_CONVERGING_AFTER
reverts in a row (so, three repairs) the resource is `non-converging`: plumb stops
rewriting the field and says which field, the values it keeps finding, and since when.
It tries one repair again after a backoff that doubles each time the drift returns (an
hour, two, four, at most a day), so a fight that has ended is noticed without a person.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

NON_CONVERGING_AFTER = 2  # reverts in a row after a repair before plumb stops rewriting
FIRST_BACKOFF = dt.timedelta(hours=1)
MAX_BACKOFF = dt.timedelta(hours=24)
KEEP_SEEN = 5  # the last distinct values found, for the report


def backoff(retries: int) -> dt.timedelta:
    return min(FIRST_BACKOFF * (2 ** min(max(0, retries), 10)), MAX_BACKOFF)


@dataclass(frozen=True)
class DriftRecord:
    """What the state remembers of a resource's drift, for the plan to decide on."""

    streak: int = 0
    fields: list[str] = field(default_factory=list)
    since: dt.datetime | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    retry_at: dt.datetime | None = None
    spec_hash: str = ""  # the spec plumb last converged the resource to; "" when unknown

    @property
    def stuck(self) -> bool:
        return self.streak >= NON_CONVERGING_AFTER

    def retry_due(self, now: dt.datetime) -> bool:
        return self.retry_at is not None and now >= self.retry_at


def record(
    row: Any,
    fields: Iterable[str],
    repaired: bool,
    seen: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Count runs in a row where the same fields drifted back after plumb repaired them;
    `row` is a ResourceRow. Returns the new streak (see DriftRows.record)."""
    now = now or dt.datetime.now(dt.UTC)
    wanted = sorted(set(fields))
    if not wanted:
        row.drift_streak, row.drift_fields, row.drift_repaired = 0, [], False
        row.drift_since, row.drift_seen, row.drift_retry_at = None, [], None
        row.status = "in-sync" if row.status in ("drifted", "non-converging") else row.status
        return 0
    if wanted != sorted(row.drift_fields or []):
        row.drift_streak, row.drift_since, row.drift_seen, row.drift_retry_at = 0, now, [], None
    elif row.drift_repaired:
        row.drift_streak += 1  # it came back after the last run's repair
    row.drift_since = row.drift_since or now
    if seen:
        values = [v for v in (row.drift_seen or []) if v != dict(seen)] + [dict(seen)]
        row.drift_seen = values[-KEEP_SEEN:]
    row.drift_fields, row.drift_repaired = wanted, repaired
    stuck = row.drift_streak >= NON_CONVERGING_AFTER
    if stuck and (repaired or row.drift_retry_at is None):
        row.drift_retry_at = now + backoff(row.drift_streak - NON_CONVERGING_AFTER)
    row.status = "non-converging" if stuck else "in-sync" if repaired else "drifted"
    return int(row.drift_streak)


def as_record(row: Any) -> DriftRecord:
    return DriftRecord(
        row.drift_streak,
        list(row.drift_fields or []),
        row.drift_since,
        list(row.drift_seen or []),
        row.drift_retry_at,
        row.desired_hash or "",
    )


def held_back(record: DriftRecord, fields: Iterable[str], now: dt.datetime) -> str | None:
    """Why the plan leaves this drift alone, or None when it repairs it (not stuck, other
    fields, or the backoff is over and one more repair is due)."""
    if not record.stuck or sorted(set(fields)) != sorted(record.fields):
        return None
    if record.retry_due(now):
        return None
    since = _when(record.since)
    seen = "; ".join(
        ", ".join(f"{path} = {_short(value)}" for path, value in sorted(values.items()))
        for values in record.seen
    )
    return (
        f"non-converging since {since}: {', '.join(record.fields)} changed back after each of "
        f"{record.streak + 1} repairs in a row; another writer keeps setting it"
        + (f" (found: {seen})" if seen else "")
        + f". plumb stops rewriting it and tries once more after {_when(record.retry_at)}"
    )


def _when(at: dt.datetime | None) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if at else "now"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
