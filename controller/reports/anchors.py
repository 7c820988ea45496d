"""Each sealed run's chain head kept outside the database (audit/archive.py): a line in the
anchor file, and with an archive bucket the run's JSON report beside it. A runner observer
(engine/observers.py) among the records the command line hands in (files.py)."""

from __future__ import annotations

import logging

from controller import logs
from controller.audit.archive import Anchoring
from controller.config import Settings
from controller.engine.observers import RunObserver, SealedRun
from controller.reports.run_report import render
from controller.state.store import Store

_log = logging.getLogger(__name__)


class Anchors(RunObserver):
    def __init__(self, settings: Settings) -> None:
        self.anchoring = Anchoring(settings)

    def sealed(self, run: SealedRun) -> None:
        run.anchor_failures += self.keep(run.store, run.run_id)

    def keep(self, store: Store, run_id: int) -> list[str]:
        """The run's head anchored; what failed, for the run's output. A failure never
        unseals the run, nor fails the command that sealed it."""
        if not self.anchoring.enabled:
            return []
        try:
            run = store.runs.get(run_id)
            failures = self.anchoring.keep(run, render(run, "json"))
        except Exception as err:  # the run is sealed; a failure here must not lose it
            failures = [f"anchoring failed: {type(err).__name__}: {err}"]
        for failure in failures:
            _log.error("run %s is sealed but its chain head is not anchored: %s", run_id, failure)
            logs.emit("anchor-failed", "error", run=run_id, message=failure)
        return failures
