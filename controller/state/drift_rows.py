"""The drift streaks on the resource rows: what state/drift.py counts, read and written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controller.state.database import Database
from controller.state.drift import DriftRecord, as_record
from controller.state.queries import find_row
from controller.state.resource_rows import edit_row


@dataclass(frozen=True)
class DriftRows:
    """The `drift_*` columns of the `resources` rows."""

    db: Database

    def get(self, stack: str, logical_id: str) -> DriftRecord:
        with self.db.tx(write=False) as s:
            row = find_row(s, stack, logical_id)
            return as_record(row) if row else DriftRecord()

    def streak(self, stack: str, logical_id: str) -> tuple[int, list[str]]:
        found = self.get(stack, logical_id)
        return found.streak, found.fields

    def record(
        self,
        stack: str,
        logical_id: str,
        fields: list[str],
        repaired: bool,
        seen: Mapping[str, Any] | None = None,
    ) -> int:
        """Count runs in a row where the same fields drifted back after plumb repaired them.

        Drift seen for the first time, or on other fields, starts at 0; the same fields again
        after a repair add one; again without a repair (plumb backed off, or self-heal is
        off) keep the count; a clean observation resets it. From NON_CONVERGING_AFTER on the
        resource's status is "non-converging" (see state/drift.py); before that, "in-sync"
        once repaired and "drifted" if not. Returns the new streak.
        """
        now = self.db.now()
        return edit_row(
            self.db,
            stack,
            logical_id,
            None,
            lambda row: row.record_drift(fields, repaired, seen, now),
        )
