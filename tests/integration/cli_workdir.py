"""The folder the CLI tests run plumb in: a specs/ folder and a SQLite state of its own."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest


def cli_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, specs: Mapping[str, str]) -> Path:
    """`tmp_path` as the working directory, its specs/ holding `specs` (file name -> text)
    and PLUMB_STATE naming a SQLite state in it."""
    (tmp_path / "specs").mkdir(exist_ok=True)
    for name, text in specs.items():
        (tmp_path / "specs" / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLUMB_STATE", f"sqlite:///{tmp_path}/state.db")
    return tmp_path
