"""`-o` on plan, report and schema: a symbolic link planted at the path is refused, not
followed (what it points to is left as it was), and a file that cannot be written is one
line and exit 1, not a traceback. Through the CLI, on moto."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from controller.cli import main as cli
from tests.integration.cli_workdir import cli_workdir

SPEC = """\
apiVersion: plumb/v1
kind: LogGroup
metadata: {product: acme, env: prod, region: us-east-1, name: app/log-group}
spec: {logGroupName: /acme/prod/app, retentionInDays: 30}
"""
COMMANDS = {
    "plan": ["plan", "specs", "-o"],
    "report": ["report", "latest", "-o"],
    "schema": ["schema", "-o"],
}


@pytest.fixture
def workdir(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_workdir(tmp_path, monkeypatch, {"log.yaml": SPEC})


def plumb(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def one_line_error(result: Result, says: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), "a clean exit, not a traceback"
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and says in errors[0], result.output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_symbolic_link_at_the_output_is_not_followed(workdir: Path, command: str) -> None:
    assert plumb("plan", "specs").exit_code == 0  # a run to report on
    precious = workdir / "authorized_keys"
    precious.write_text("ssh-ed25519 AAAA... admin\n")
    (workdir / "out.json").symlink_to(precious)
    result = plumb(*COMMANDS[command], "out.json")
    one_line_error(result, "out.json is a symbolic link; plumb does not write through one")
    assert precious.read_text() == "ssh-ed25519 AAAA... admin\n"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_device_that_is_full_is_one_line(workdir: Path, command: str) -> None:
    assert plumb("plan", "specs").exit_code == 0
    result = plumb(*COMMANDS[command], "/dev/full")
    one_line_error(result, "cannot write /dev/full: No space left on device")


def test_the_output_is_written_and_a_plain_file_replaced(workdir: Path) -> None:
    out = workdir / "schema.json"
    out.write_text("x" * 100_000)
    assert plumb("schema", "-o", str(out)).exit_code == 0
    assert out.read_text().startswith("{") and out.read_text().endswith("}\n")
