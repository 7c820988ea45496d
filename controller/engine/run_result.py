"""What a run comes to: its result, for the command that ran it and the run's observers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.engine.outcome import FAILED, SKIPPED, Outcome
from controller.engine.plan import Plan


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
