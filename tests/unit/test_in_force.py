"""The commit in force that no longer loads says why in bounded lines, as a refused head does.

A commit an older plumb accepted may fail today's checks (a bound lowered, a guardrail
added): its errors are printed as a refused head's are, the first PLUMB_MAX_ERRORS and a
count, never thousands of lines.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from controller.errors import SpecError, SpecIssue
from controller.loop import cycle as sync_cycle

SHA = "a" * 40


def _runner() -> Any:
    in_force = SimpleNamespace(commit_in_force=lambda source: {"id": 7, "commit": {"sha": SHA}})
    store = SimpleNamespace(source=in_force)
    return SimpleNamespace(store=store)


def test_a_commit_in_force_that_no_longer_loads_prints_a_bounded_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    issues = [SpecIssue("specs/a.yaml", n, 1, "spec", f"problem {n}") for n in range(1, 5001)]

    def checkout(*_: Any) -> Any:
        raise SpecError(issues)

    monkeypatch.setattr(sync_cycle, "checkout", checkout)
    console = Console(record=True, width=200)
    found = sync_cycle._in_force(
        _runner(), console, "file:///r", "main", "specs", "file:///r#main", tmp_path
    )
    assert found is None
    lines = console.export_text().splitlines()
    assert lines[0] == f"cannot load {SHA[:12]}, the commit in force:"
    assert len(lines) == 1 + 50 + 1, lines[-3:]
    assert "problem 50" in lines[50] and "4,950 more errors" in lines[-1]
