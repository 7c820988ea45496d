"""What a plan reads of the state: the creates begun and never seen done, the drift that
keeps coming back, and the resources the runs recorded. StateView answers "nothing" (a plan
with no state, a test); StoreState reads the state's stores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.state.drift import DriftRecord
from controller.state.store import Store


class StateView:
    """What the plan needs from the state; the store or a stand-in for tests."""

    def pending_creates(self, stack: str) -> Mapping[str, str]:
        return {}

    def drift_streak(self, stack: str, logical_id: str) -> tuple[int, list[str]]:
        return 0, []

    def drift(self, stack: str, logical_id: str) -> DriftRecord:
        streak, fields = self.drift_streak(stack, logical_id)
        return DriftRecord(streak, fields)

    def resources(self, stack: str | None = None) -> list[dict[str, Any]]:
        """The recorded resource rows (`logicalId`, `physicalId`, `status`, ...)."""
        return []


class StoreState(StateView):
    """The plan's reads of the state's stores."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def pending_creates(self, stack: str) -> Mapping[str, str]:
        return self.store.journal.pending(stack)

    def drift(self, stack: str, logical_id: str) -> DriftRecord:
        return self.store.drift.get(stack, logical_id)

    def resources(self, stack: str | None = None) -> list[dict[str, Any]]:
        return self.store.resources.rows(stack)
