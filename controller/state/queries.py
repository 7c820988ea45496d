"""The store's small queries on an open session: a run still open, a resource's row, a
run's changes and their counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.state.models import COUNT_KEYS, Change, ResourceRow, Run
from controller.state.run_view import change_dict


def open_run(s: Session, run_id: int) -> Run:
    run = s.get(Run, run_id)
    if run is None:
        raise KeyError(f"no run {run_id}")
    if run.hash is not None:
        raise ValueError(f"run {run_id} is finished; its hash is sealed")
    return run


def locked(query: Any, sqlite: bool) -> Any:
    # Row locks on PostgreSQL so two writers' read-modify-write (drift streaks) cannot
    # interleave; SQLite is already serialized by BEGIN IMMEDIATE.
    return query if sqlite else query.with_for_update()


def find_row(s: Session, stack: str, logical_id: str) -> ResourceRow | None:
    query = select(ResourceRow).where(
        ResourceRow.stack == stack, ResourceRow.logical_id == logical_id
    )
    return s.scalars(query).first()


def changes_of(s: Session, run_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {rid: [] for rid in run_ids}
    if run_ids:
        query = select(Change).where(Change.run_id.in_(run_ids)).order_by(Change.id)
        for row in s.scalars(query):
            out[row.run_id].append(change_dict(row))
    return out


def count_changes(s: Session, run_id: int) -> dict[str, int]:
    counts = dict.fromkeys(COUNT_KEYS, 0)
    for action, outcome in s.execute(
        select(Change.action, Change.outcome).where(Change.run_id == run_id)
    ):
        counts[action] = counts.get(action, 0) + 1
        counts["failed"] += outcome == "failed"
    return counts
