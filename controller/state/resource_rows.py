"""The resource rows: the last known state of each managed resource, as the runs saw it
(the create journal and the drift streaks on the same rows are journal.py's and
drift_rows.py's)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from controller.state.database import Database
from controller.state.models import RESOURCE_STATUSES, ResourceRow, check_value
from controller.state.queries import locked
from controller.state.run_view import resource_dict

T = TypeVar("T")
RowEdit = Callable[[ResourceRow], object]


@dataclass(frozen=True)
class ResourceRows:
    """The `resources` table."""

    db: Database

    def upsert(
        self,
        stack: str,
        logical_id: str,
        kind: str,
        physical_id: str = "",
        arn: str = "",
        status: str = "in-sync",
        desired_hash: str = "",
        observed_spec: Mapping[str, Any] | None = None,
        run_id: int | None = None,
    ) -> None:
        """Record what a run saw; `observed_spec=None` keeps the last observation."""
        check_value(status, RESOURCE_STATUSES, "resource status")
        edit_row(
            self.db,
            stack,
            logical_id,
            run_id,
            lambda row: row.record(kind, physical_id, arn, status, desired_hash, observed_spec),
        )

    def remember(self, run_id: int, stack: str, edits: Mapping[str, RowEdit]) -> None:
        """Edit many of one stack's resource rows in one transaction (rows made if new).

        The run's end writes what it saw of every resource; one commit per stack instead of
        two or three per resource keeps a no-op of hundreds of resources cheap."""
        if edits:
            edit_rows(self.db, stack, edits, run_id)

    def mark_deleted(self, stack: str, logical_id: str, run_id: int | None) -> None:
        edit_row(self.db, stack, logical_id, run_id, ResourceRow.forget)

    def rows(self, stack: str | None = None) -> list[dict[str, Any]]:
        """Every recorded resource, deleted ones included (status "deleted")."""
        query = select(ResourceRow).order_by(ResourceRow.stack, ResourceRow.logical_id)
        if stack is not None:
            query = query.where(ResourceRow.stack == stack)
        with self.db.tx(write=False) as s:
            return [resource_dict(r) for r in s.scalars(query)]


def edit_row(
    db: Database,
    stack: str,
    logical_id: str,
    run_id: int | None,
    change: Callable[[ResourceRow], T],
) -> T:
    """Apply `change` to the resource's row, made if new; what `change` returns."""
    return edit_rows(db, stack, {logical_id: change}, run_id)[logical_id]


def edit_rows(
    db: Database,
    stack: str,
    edits: Mapping[str, Callable[[ResourceRow], T]],
    run_id: int | None,
) -> dict[str, T]:
    """Apply each edit to its row of the stack in one transaction, rows made if new; what
    each edit returns, by logical id. Retried once if another writer made a row first."""
    for attempt in (1, 2):
        try:
            with db.tx() as s:
                query = select(ResourceRow).where(
                    ResourceRow.stack == stack, ResourceRow.logical_id.in_(list(edits))
                )
                rows = {r.logical_id: r for r in s.scalars(locked(query, db.sqlite))}
                now, done = db.now(), {}
                for logical_id, change in sorted(edits.items()):
                    row = rows.get(logical_id)
                    if row is None:
                        row = ResourceRow(stack=stack, logical_id=logical_id, drift_fields=[])
                        s.add(row)
                    done[logical_id] = change(row)
                    row.updated_at = now
                    row.last_run_id = run_id if run_id is not None else row.last_run_id
            return done
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
