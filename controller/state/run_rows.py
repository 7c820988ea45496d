"""The runs and their changes: a run begun, what it did, and reading runs back. Sealing a
run into the hash chain is chain_rows.py's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text

from controller.model import Action
from controller.state.database import Database
from controller.state.models import Run
from controller.state.queries import changes_of, open_run
from controller.state.run_view import change_row, run_dict

# (action, outcome, error, started, finished): one change row as the ledger hands it over.
ChangeRecord = tuple[Action, str, str, datetime | None, datetime | None]


@dataclass(frozen=True)
class RunRows:
    """The `runs` and `changes` tables."""

    db: Database

    def begin(
        self,
        trigger: str,
        command: str,
        stacks: Iterable[str],
        commit: dict[str, Any] | None = None,
        source: str = "",
        actor: Mapping[str, Any] | None = None,
    ) -> int:
        """A new run, `running` until the chain seals it; `actor` says who asked (the
        command line's user, host and worktree; see controller/audit/actor.py)."""
        row = Run.begin(self.db.now(), trigger, command, stacks, commit or {}, source, actor)
        with self.db.tx() as s:
            s.add(row)
            s.flush()
            return row.id

    def record_change(self, run_id: int, action: Action, outcome: str, error: str = "") -> None:
        """One change, without its times."""
        self.record_changes(run_id, [(action, outcome, error, None, None)])

    def record_changes(self, run_id: int, rows: Iterable[ChangeRecord]) -> None:
        """Many changes in one transaction: a no-op run's unchanged actions cost one commit."""
        built = [change_row(run_id, *record) for record in rows]
        if not built:
            return
        with self.db.tx() as s:
            open_run(s, run_id)
            s.add_all(built)

    def recent(self, stack: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest runs first, without their changes."""
        query = select(Run).order_by(Run.id.desc()).limit(limit)
        if stack is not None:
            query = query.where(Run.stacks_key.contains(f",{stack},", autoescape=True))
        with self.db.tx(write=False) as s:
            return [run_dict(r) for r in s.scalars(query)]

    def get(self, run_id: int | str) -> dict[str, Any]:
        """One run with its changes; `"latest"` is the newest run begun. KeyError if none."""
        with self.db.tx(write=False) as s:
            if run_id == "latest":
                row = s.scalars(select(Run).order_by(Run.id.desc()).limit(1)).first()
            else:
                row = s.get(Run, int(run_id))
            if row is None:
                raise KeyError(f"no run {run_id}")
            return run_dict(row, changes_of(s, [row.id])[row.id])

    def ids(self) -> list[int]:
        with self.db.tx(write=False) as s:
            return list(s.scalars(select(Run.id).order_by(Run.id)))

    def ids_issued(self) -> int:
        """The highest run id this database ever handed out, removed runs included: SQLite
        keeps it in sqlite_sequence (AUTOINCREMENT), PostgreSQL in the id's sequence. A
        copy restored from before a run knows no such id; deleting the run leaves it."""
        with self.db.tx(write=False) as s:
            highest = s.scalar(select(func.max(Run.id))) or 0
            if self.db.sqlite:
                query = "SELECT seq FROM sqlite_sequence WHERE name = 'runs'"
            else:
                query = "SELECT last_value FROM runs_id_seq WHERE is_called"
            # A sequence renamed or missing: the ids still in the table will do.
            with contextlib.suppress(Exception), s.begin_nested():
                highest = max(highest, int(s.execute(text(query)).scalar() or 0))
            return highest
