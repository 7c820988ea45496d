"""The create journal on the resource rows: a create is written down before its AWS call
and closed once the resource is seen, so a run killed between the two leaves the name it
was about to use, and the next run observes by tag and adopts instead of creating twice."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from controller.model import Observed
from controller.state.database import Database
from controller.state.models import ResourceRow
from controller.state.resource_rows import edit_row


@dataclass(frozen=True)
class CreateJournal:
    """The `pending_name` of the `resources` rows."""

    db: Database

    def mark_pending(
        self, run_id: int, stack: str, logical_id: str, kind: str, physical_name: str
    ) -> None:
        """Journal a create before the AWS call: after a crash, observe by tag and adopt."""
        edit_row(
            self.db, stack, logical_id, run_id, lambda row: row.journal_create(kind, physical_name)
        )

    def mark_created(self, run_id: int, observed: Observed, desired_hash: str = "") -> None:
        """The create is done: the row records what was made, and its journal entry goes."""
        status = "in-sync" if observed.ready else "creating"
        arn = str(observed.attrs.get("arn") or "")
        edit_row(
            self.db,
            observed.stack,
            observed.logical_id,
            run_id,
            lambda row: row.record(
                observed.kind, observed.physical_id, arn, status, desired_hash, observed.spec
            ),
        )

    def pending(self, stack: str) -> dict[str, str]:
        """The stack's creates begun and never seen done: logical id -> physical name."""
        query = select(ResourceRow.logical_id, ResourceRow.pending_name).where(
            ResourceRow.stack == stack, ResourceRow.pending_name.is_not(None)
        )
        with self.db.tx(write=False) as s:
            return {lid: name or "" for lid, name in s.execute(query)}
