"""What a user can type ends in one line and an exit code, never a Python traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli.main import main

SPECS = str(Path(__file__).resolve().parents[2] / "specs")


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        pytest.param(["report", "999"], 1, "there is no state database at", id="no state"),
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
        pytest.param(
            ["--state", "foo://", "history"], 1, "is not a database URL", id="state: no dialect"
        ),
        pytest.param(["--state", "garbage", "history"], 1, "--state garbage is not", id="state"),
        pytest.param(
            ["--state", "postgresql+psycopg://u:hunter2@127.0.0.1:1/db", "history"],
            1,
            "cannot open the state database postgresql+psycopg://u:***@127.0.0.1:1/db",
            id="state: PostgreSQL not reachable",
        ),
        pytest.param(
            ["run", "--repo", "x", "--listen", "localhost"],
            2,
            "'localhost' is not HOST:PORT",
            id="listen without a port",
        ),
        pytest.param(
            ["sync", "--repo", "x", "--aws", "embedded"],
            2,
            "--aws is an option of plumb itself: put it before the command",
            id="a global option after the command",
        ),
        pytest.param(
            ["audit", "verify", "--state", "x"],
            2,
            "`plumb --state ... audit verify ...`",
            id="a global option after a subcommand",
        ),
        pytest.param(["--lease", "0", "locks"], 2, "--lease", id="a lease of no length"),
        pytest.param(
            ["apply", SPECS, "--plan", "{tmp}/plan.json"],
            2,
            "give SPECS or --plan, not both",
            id="specs and a saved plan",
        ),
        pytest.param(["--max-attempts", "0", "locks"], 2, "--max-attempts", id="no attempts"),
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
    assert "Traceback" not in output and isinstance(result.exception, SystemExit)
    assert "hunter2" not in output


def test_a_health_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["--state", f"sqlite:///{tmp_path}/s.db", "run", "--repo", "x"]
        result = CliRunner().invoke(main, [*argv, "--listen", f"127.0.0.1:{port}"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert f"cannot serve the health endpoint on 127.0.0.1:{port}" in result.output
    assert "choose another --listen address" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["history"],
        ["locks"],
        ["report", "latest"],
        ["report", "--since", "2026-01-01"],
        ["audit", "verify"],
    ],
)
def test_a_command_that_reads_the_state_refuses_one_plumb_never_wrote(
    tmp_path: Path, args: list[str]
) -> None:
    """A mistyped --state must not read as "no runs" or "chain intact", nor leave an empty
    database behind."""
    typo = tmp_path / "sate.db"
    result = CliRunner().invoke(main, ["--state", f"sqlite:///{typo}", *args])
    assert result.exit_code == 1, result.output
    assert f"there is no state database at {typo}: no plumb run has used it" in result.output
    assert not typo.exists()
    (tmp_path / "empty.db").touch()
    result = CliRunner().invoke(main, ["--state", f"sqlite:///{tmp_path}/empty.db", *args])
    assert result.exit_code == 1 and "holds no plumb state" in result.output, result.output


def test_a_state_plumb_made_but_with_no_runs_reads_as_empty(tmp_path: Path) -> None:
    from controller.state.store import Store

    state = f"sqlite:///{tmp_path}/state.db"
    Store(state).close()

    def plumb(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["--state", state, *args])
        return result.exit_code, result.output

    assert plumb("history") == (0, "No runs yet.\n")
    code, out = plumb("report", "latest")
    assert code == 1 and "no run is recorded yet" in out
    code, out = plumb("report", "999")
    assert code == 1 and "there is no run 999" in out
    code, out = plumb("audit", "verify")
    assert code == 0 and "0 runs checked" in out, out
