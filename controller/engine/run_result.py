"""What a run comes to: its result for the command that ran it, and how the sealed run is
written down (the reports room provides that; the runner is handed it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from controller.engine.apply import FAILED, SKIPPED, Outcome
from controller.engine.plan import Plan
from controller.state.store import Store


@dataclass
class RunResult:
    run_id: int
    plan: Plan
    outcome: str
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    api_calls: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    reports: dict[str, Path] = field(default_factory=dict)
    run_hash: str = ""
    # The chain head could not be kept outside the database: the run is sealed all the same.
    anchor_failures: list[str] = field(default_factory=list)

    @property
    def failed(self) -> dict[str, Outcome]:
        return {k: o for k, o in self.outcomes.items() if o.status in (FAILED, SKIPPED)}


class RunRecords(Protocol):
    """How a sealed run is written down: its report files beside the state, and the JSON
    report its anchor archives. The reports room provides it (reports/files.py); whoever
    makes the Runner hands it in, so the engine knows nothing of formats."""

    def write(self, store: Store, folder: Path, run_id: int) -> dict[str, Path]: ...

    def render_json(self, run: Mapping[str, Any]) -> str: ...
