"""What a user can type ends in one line and an exit code, never a Python traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli import main

SPECS = str(Path(__file__).resolve().parents[2] / "specs")


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        pytest.param(["report", "999"], 1, "there is no run 999", id="a run that does not exist"),
        pytest.param(["report", "latest"], 1, "no run is recorded yet", id="latest, empty state"),
        pytest.param(["report", "foo"], 2, "'foo' is not a run", id="not a run number"),
        pytest.param(
            ["report", "latest", "-o", "{tmp}/no/such/dir/r.json"],
            2,
            "does not exist",
            id="report into a missing folder",
        ),
        pytest.param(
            ["--aws", "embedded", "plan", SPECS, "-o", "{tmp}/no/such/dir/plan.json"],
            2,
            "does not exist",
            id="plan into a missing folder, before any AWS call",
        ),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(
    tmp_path: Path, args: list[str], code: int, says: str
) -> None:
    state = f"sqlite:///{tmp_path}/state.db"
    argv = ["--state", state, *[a.format(tmp=tmp_path) for a in args]]
    result = CliRunner().invoke(main, argv)
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code == code, output
    assert says in output
    assert "Traceback" not in output and not isinstance(result.exception, KeyError | OSError)
