"""What the loop makes of each run the runner seals: its metrics, the tally of the cycle's
outcomes, and a `run-sealed` line in the log. A runner observer (engine/observers.py) the
loop adds beside the records the command line handed the runner."""

from __future__ import annotations

import logging
from collections import Counter

from controller import logs
from controller.engine.observers import RunObserver, SealedRun
from controller.loop.metrics import Metrics

_log = logging.getLogger(__name__)


class RunWatch(RunObserver):
    def __init__(self, metrics: Metrics, outcomes: Counter[str]) -> None:
        self.metrics, self.outcomes = metrics, outcomes

    def sealed(self, run: SealedRun) -> None:
        result = run.result
        if result is None:  # sealed on behalf of a run cut short: not a run this loop ran
            return
        try:
            self.metrics.record_run(result)
            self.outcomes[result.outcome] += 1
            calls = result.api_calls
            logs.emit(
                "run-sealed",
                run=result.run_id,
                outcome=result.outcome,
                seconds=result.seconds,
                changes=len(result.plan.changes),
                apiCalls=calls.get("total", 0),
                writes=calls.get("writes", 0),
                retries=calls.get("retries", 0),
                report=str(run.reports.get("json", "")),
            )
        except Exception:  # a broken observer must not fail a run that is already sealed
            _log.exception("the run observer failed on run %s", result.run_id)

    def lease_taken_over(self, stack: str) -> None:
        self.metrics.lease_taken_over(stack)
