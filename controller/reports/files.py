"""A sealed run written down beside the state: its report in each format, and the link the
run before it gains to it. The runner is handed one of these (engine/runner.py RunRecords)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from controller.reports.run_report import render
from controller.state.store import Store

FORMATS = (("json", "json"), ("markdown", "md"), ("html", "html"))


class ReportFiles:
    def write(self, store: Store, folder: Path, run_id: int) -> dict[str, Path]:
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

    def render_json(self, run: Mapping[str, Any]) -> str:
        return render(run, "json")
