"""What one run writes into the state: its change rows and what it saw of every resource.

A change that wrote to AWS is recorded the moment it ends, so a run killed half-way still
tells the auditor what it did. A change that wrote nothing (unchanged, refused, planned)
waits for the run's end and goes in with the others of its run in one transaction; the
resource rows go in one transaction per stack. A no-op of hundreds of resources then costs
a handful of commits instead of three per resource.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any

from controller.engine.outcome import APPLIED, FAILED, PENDING, SKIPPED, Outcome
from controller.engine.plan import Plan
from controller.model import Action, ActionType, FieldChange, Observed
from controller.state.models import ResourceRow
from controller.state.resource_rows import RowEdit
from controller.state.run_rows import ChangeRecord
from controller.state.scrub import scrub
from controller.state.store import Store

A = ActionType
# Outcomes of a change that made no AWS write: they can wait for the run's end.
_QUIET = frozenset({"unchanged", "refused", "orphan", "unknown", "planned"})
# Actions after which, unless they failed, the resource matches its spec.
_CONVERGES = frozenset({A.NOOP, A.CREATE, A.UPDATE, A.REPLACE})


class Ledger:
    """One run's writer into the state; also the Applier's journal."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store, self.run_id = store, run_id
        self._quiet: list[ChangeRecord] = []
        self._lock = threading.Lock()

    # -- the journal the Applier writes to ----------------------------------------------

    def mark_create_pending(
        self, run_id: int, stack: str, logical_id: str, kind: str, physical_name: str
    ) -> None:
        self.store.journal.mark_pending(run_id, stack, logical_id, kind, physical_name)

    def mark_created(self, run_id: int, observed: Observed) -> None:
        self.store.journal.mark_created(run_id, observed)

    def record_change(
        self,
        run_id: int,
        action: Action,
        outcome: str,
        error: str = "",
        started_at: dt.datetime | None = None,
        finished_at: dt.datetime | None = None,
    ) -> None:
        record: ChangeRecord = (action, outcome, error, started_at, finished_at)
        if outcome in _QUIET and not error:
            with self._lock:
                self._quiet.append(record)
            return
        self.store.runs.record_changes(run_id, [record])

    def flush(self) -> None:
        with self._lock:
            records, self._quiet = self._quiet, []
        self.store.runs.record_changes(self.run_id, records)

    # -- the end of a run ---------------------------------------------------------------

    def planned(self, plan: Plan) -> None:
        """A plan's actions, as a plan-only run records them."""
        self.store.runs.record_changes(
            self.run_id, [(a, "planned", "", None, None) for a in plan.actions]
        )

    def remember(self, plan: Plan, outcomes: Mapping[str, Outcome]) -> None:
        """Resource rows and drift streaks, for history and non-converging detection."""
        self.flush()
        by_stack: dict[str, dict[str, RowEdit]] = {}
        for action in plan.actions:
            by_stack.setdefault(action.stack, {})[action.logical_id] = _row_edit(
                action, outcomes.get(action.logical_id), plan
            )
        for stack, edits in sorted(by_stack.items()):
            self.store.resources.remember(self.run_id, stack, edits)


def resource_status(action: Action, outcome: Outcome | None) -> str | None:
    """The status a resource's row takes after this run; None when the row goes (deleted)."""
    if action.type is A.DELETE and outcome and outcome.status == APPLIED:
        return None
    if action.type is A.BLOCKED and action.reason.startswith("non-converging"):
        return "non-converging"
    return _resource_status(action.type, outcome)


def _row_edit(action: Action, outcome: Outcome | None, plan: Plan) -> RowEdit:
    status = resource_status(action, outcome)
    if status is None:
        return ResourceRow.forget
    observed = (
        outcome.observed
        if outcome and outcome.observed
        else plan.observation.observed.get(action.logical_id)
    )
    done = outcome is None or outcome.status not in (FAILED, SKIPPED)
    converged = done and action.type in _CONVERGES
    resource = plan.resources.get(action.logical_id)
    # The spec the resource now matches; a row held back or failed keeps the last one, so
    # the difference still reads as asked for (not drift) at the next run.
    desired = resource.spec_hash() if converged and resource else ""
    applied = action.type is A.UPDATE and outcome is not None and outcome.status == APPLIED
    repaired = applied and not action.requested

    def edit(row: ResourceRow) -> None:
        row.record(
            action.kind,
            observed.physical_id if observed else "",
            str(observed.attrs.get("arn", "")) if observed else "",
            status,
            desired,
            dict(observed.spec) if observed else None,
        )
        if repaired or status == "non-converging":
            # What AWS held, as the plan found it (secrets masked): the values being fought over.
            seen = {c.path: _found(c) for c in action.changes}
            row.record_drift([c.path for c in action.changes], repaired, seen)
        elif action.type is A.NOOP or applied:
            row.record_drift([], False)  # in sync, or brought to a new spec: a fresh start

    return edit


def _found(change: FieldChange) -> Any:
    return scrub(change.to_json()["before"], change.path.rsplit(".")[-1])


def _resource_status(action: ActionType, outcome: Outcome | None) -> str:
    if outcome is not None and outcome.status in (FAILED, SKIPPED):
        return "failed"
    if outcome is not None and outcome.status == PENDING:
        return "creating"
    return {
        A.NOOP: "in-sync",
        A.CREATE: "in-sync",
        A.UPDATE: "in-sync",
        A.REPLACE: "in-sync",
        A.ORPHAN: "orphan",
        A.BLOCKED: "blocked",
        A.UNKNOWN: "unknown",
        A.DELETE: "orphan",
    }[action]
