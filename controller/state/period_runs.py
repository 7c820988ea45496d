"""The runs of a period and their neighbours in the chain: what the auditor's period page and
a run page's links read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.state.database import Database
from controller.state.models import Change, Run
from controller.state.queries import changes_of
from controller.state.run_view import change_dict, run_dict


@dataclass(frozen=True)
class PeriodRuns:
    """The runs of a period, and a run's place in the chain."""

    db: Database

    def runs_between(self, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
        """Runs begun at or after `since` and before `until`, oldest first, without changes."""
        query = select(Run).order_by(Run.started_at, Run.id)
        if since is not None:
            query = query.where(Run.started_at >= since)
        if until is not None:
            query = query.where(Run.started_at < until)
        with self.db.tx(write=False) as s:
            return [run_dict(r) for r in s.scalars(query)]

    def acting_changes(self, run_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """The changes of these runs that were not `noop`, by run: a period of no-op runs
        reads none of their unchanged rows."""
        out: dict[int, list[dict[str, Any]]] = {rid: [] for rid in run_ids}
        if not run_ids:
            return out
        query = (
            select(Change)
            .where(Change.run_id.in_(run_ids), Change.action != "noop")
            .order_by(Change.run_id, Change.id)
        )
        with self.db.tx(write=False) as s:
            for row in s.scalars(query):
                out[row.run_id].append(change_dict(row))
        return out

    def run_in_chain(self, run_id: int) -> tuple[dict[str, Any], tuple[int | None, int | None]]:
        """A run with its changes, and the ids of its neighbours in the chain: what its
        report page needs, in one transaction (a no-op run's cost is counted)."""
        with self.db.tx(write=False) as s:
            row = s.get(Run, run_id)
            if row is None:
                raise KeyError(f"no run {run_id}")
            return run_dict(row, changes_of(s, [row.id])[row.id]), _neighbours(s, row.seq)

    def chain_neighbours(self, seq: int | None) -> tuple[int | None, int | None]:
        """The ids of the runs just before and after chain position `seq` (None if none)."""
        if seq is None:
            return None, None
        with self.db.tx(write=False) as s:
            return _neighbours(s, seq)


def _neighbours(s: Session, seq: int | None) -> tuple[int | None, int | None]:
    if seq is None:
        return None, None
    before = s.scalar(select(Run.id).where(Run.seq == seq - 1))
    after = s.scalar(select(Run.id).where(Run.seq == seq + 1))
    return before, after
