"""A Runner as the engine tests drive it: its state in a SQLite file in a folder of the
test's own, the reports of its runs beside it."""

from __future__ import annotations

from pathlib import Path

from controller.config import Settings
from controller.engine.runner import Runner
from controller.reports.files import records


def sqlite_runner(folder: Path, max_attempts: int) -> Runner:
    """A runner keeping its state in folder/state.db and its reports in folder/reports,
    trying each AWS call `max_attempts` times."""
    settings = Settings(
        state_url=f"sqlite:///{folder}/state.db",
        max_attempts=max_attempts,
        reports_dir=folder / "reports",
    )
    return Runner(settings, observers=records(settings))
