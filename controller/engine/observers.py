"""Who follows the runs a Runner seals: its observers, handed in by whoever makes it.

The runner keeps the run: its leases, its begin, plan, apply and seal. What becomes of a
sealed run is its observers' work: the command line, the demo and the tests hand in the
records (each run's report files, its chain head anchored and archived: reports/files.py),
and the loop adds its metrics (loop/run_watch.py). The engine knows nothing of what they do.

They are told in the order they were handed in, so a later one sees what an earlier one
left on the run (the loop's log line names the report the records wrote).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from controller.engine.run_result import RunResult
from controller.state.store import Store


@dataclass
class SealedRun:
    """A run just sealed into the chain, as its observers are told of it."""

    run_id: int
    store: Store
    # The run as this runner ended it; None for a run sealed `interrupted` on behalf of one
    # cut short (by its own process on its way out, or by a run that found its plumb gone).
    result: RunResult | None = None
    # What the records leave for the command's output (copied into the result).
    reports: dict[str, Path] = field(default_factory=dict)
    anchor_failures: list[str] = field(default_factory=list)


class RunObserver:
    """What a runner tells its observers. Each event does nothing here: an observer defines
    only those it needs. An observer's exception reaches the runner's caller (a report that
    cannot be written fails the command); one that must never fail a sealed run catches its
    own."""

    def sealed(self, run: SealedRun) -> None:
        """A run was sealed into the chain."""

    def lease_taken_over(self, stack: str) -> None:
        """A stack's lease was taken from an expired or dead holder."""
