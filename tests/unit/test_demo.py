"""`plumb demo` cleans up after itself unless asked to keep its folder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from controller.cli.demo import run


@pytest.mark.parametrize("keep", [False, True])
def test_the_demo_folder_goes_unless_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: bool
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(run.tempfile, "tempdir", None)  # read TMPDIR again
    used: list[Path] = []

    def steps(console: Console, folder: Path, settings: object) -> int:
        (folder / ".plumb" / "reports").mkdir(parents=True)
        used.append(folder)
        return 0

    monkeypatch.setattr(run, "_steps", steps)
    out = io.StringIO()
    assert run.run_demo(Console(file=out, width=200), keep=keep) == 0
    [folder] = used
    assert folder.parent == tmp_path and folder.exists() is keep
    said = out.getvalue()
    assert ("reports are in" in said) is keep
    assert ("removed" in said) is not keep
