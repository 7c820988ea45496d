"""A sealed run written down beside the state: its report in each format, and the link the
run before it gains to it; with its anchor (anchors.py), the records a runner is handed."""

from __future__ import annotations

from pathlib import Path

from controller.config import Settings
from controller.engine.observers import RunObserver, SealedRun
from controller.reports.anchors import Anchors
from controller.reports.run_report import render
from controller.state.store import Store

FORMATS = (("json", "json"), ("markdown", "md"), ("html", "html"))


def records(settings: Settings) -> list[RunObserver]:
    """What the command line hands a Runner: each sealed run's reports beside the state,
    then its chain head anchored (the archive keeps the JSON report)."""
    return [ReportFiles(settings.report_folder()), Anchors(settings)]


class ReportFiles(RunObserver):
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def sealed(self, run: SealedRun) -> None:
        run.reports.update(self.write(run.store, run.run_id))

    def write(self, store: Store, run_id: int) -> dict[str, Path]:
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        run, (before, after) = store.periods.run_in_chain(run_id)
        out = {}
        for fmt, ext in FORMATS:
            path = folder / f"run-{run_id:06d}.{ext}"
            path.write_text(render(run, fmt, (before, after)))
            out[fmt] = path
        # The page of the run before was written when it had no next run: link it to this
        # one. Only the HTML page, which is not hashed or archived.
        page = folder / f"run-{before or 0:06d}.html"
        if before is not None and page.exists():
            prior, links = store.periods.run_in_chain(before)
            page.write_text(render(prior, "html", links))
        return out
