"""Hostile specs through the CLI: each bound ends in one line per problem, exit 1, no
traceback, a short output and a quick answer, for validate, plan and apply alike."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from controller.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "specs" / "acme-prod.yaml").read_text()


def plumb(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[Result, str]:
    """The command's result and all it printed; asserts what every refusal shares."""
    state = tmp_path / "state.db"
    started = time.monotonic()
    result = CliRunner().invoke(main, ["--state", f"sqlite:///{state}", *args], env=env)
    elapsed = time.monotonic() - started
    output = result.output
    assert elapsed < 10, f"{elapsed:.1f} s"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result)
    assert "Traceback" not in output
    assert len(output.splitlines()) <= 100, f"{len(output.splitlines())} lines"
    assert not state.exists(), "a refused spec opens no state"
    return result, output


def specs_with(tmp_path: Path, **files: str | bytes) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        path = folder / f"{name}.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder


def refused(tmp_path: Path, folder: Path, *command: str, **env: str) -> list[str]:
    """The error lines of `plumb <command> folder`, which must refuse it."""
    result, output = plumb(tmp_path, *command, str(folder), env=env or None)
    assert result.exit_code == 1, output
    return [line for line in output.splitlines() if line.startswith("error:")]


HOSTILE = {
    "documents": ("---\na: 1\n" * 100_000, "many.yaml:201:1: more than 100 documents in one file"),
    "flow nesting": ("a: " + "[" * 500 + "]" * 500 + "\n", "deep.yaml:1:36: nested more than 32"),
    "block nesting": (
        "".join("  " * i + f"k{i}:\n" for i in range(500)) + "  " * 500 + "v\n",
        "deep.yaml:33:65: nested more than 32 levels deep",
    ),
    "NUL": (EXAMPLE.replace("env: prod", "env: pr\x00od"), "nul.yaml:6:10: a control character"),
    "escape": (EXAMPLE.replace("env: prod", "env: \x1b[2Jprod"), "(U+001B)"),
    "C1 control": (EXAMPLE.replace("env: prod", "env: \x9bprod"), "refuses (U+009B)"),
    "digits": (
        EXAMPLE.replace("natGateways: 1", "natGateways: " + "9" * 5000),
        "digits.yaml:15:18: spec.network.natGateways: a number of more than 20 digits",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE), ids=list(HOSTILE))
def test_a_hostile_file_is_one_line_quickly(tmp_path: Path, name: str) -> None:
    text, says = HOSTILE[name]
    file = {"documents": "many", "NUL": "nul", "digits": "digits"}.get(name, "deep")
    folder = specs_with(tmp_path, **{file: text})
    [line] = refused(tmp_path, folder, "validate")
    assert says in line, line


@pytest.mark.parametrize("command", [["plan"], ["apply", "--yes"]], ids=["plan", "apply"])
def test_plan_and_apply_refuse_the_same_inputs_before_any_aws_call(
    tmp_path: Path, command: list[str]
) -> None:
    many, _ = HOSTILE["documents"]
    deep, _ = HOSTILE["flow nesting"]
    folder = specs_with(tmp_path, many=many, deep=deep)
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x"}
    lines = refused(tmp_path, folder, *command, **env)
    assert len(lines) == 2 and "more than 100 documents" in lines[1], lines
    assert "nested more than 32 levels deep" in lines[0]


def test_an_escape_in_a_quoted_value_is_refused_like_the_raw_character(tmp_path: Path) -> None:
    folder = specs_with(tmp_path, env=EXAMPLE.replace('"4711"', '"47\\e[2J11"'))
    [line] = refused(tmp_path, folder, "validate")
    assert "metadata.tags.CostCenter: holds a control character (U+001B)" in line


def test_a_number_of_twenty_one_digits_is_refused_and_twenty_are_read(tmp_path: Path) -> None:
    folder = specs_with(tmp_path, env=EXAMPLE.replace("natGateways: 1", "natGateways: " + "1" * 21))
    [line] = refused(tmp_path, folder, "validate")
    assert "spec.network.natGateways: a number of more than 20 digits: quote it" in line
    specs_with(tmp_path, env=EXAMPLE.replace("natGateways: 1", "natGateways: " + "1" * 20))
    [line] = refused(tmp_path, folder, "validate")
    assert "spec.network.natGateways: must be at most" in line


def test_errors_past_fifty_are_counted_not_printed(tmp_path: Path) -> None:
    extra = "".join(f"  field{i:03d}: 1\n" for i in range(300))
    folder = specs_with(tmp_path, env=EXAMPLE.replace("spec:\n", "spec:\n" + extra, 1))
    result, output = plumb(tmp_path, "validate", str(folder))
    lines = output.splitlines()
    assert result.exit_code == 1
    assert len([line for line in lines if line.startswith("error:")]) == 50
    assert "… and 250 more errors (PLUMB_MAX_ERRORS shows more)" in lines
    assert lines[-1] == "300 errors; nothing was changed."


def test_a_huge_key_makes_no_huge_line(tmp_path: Path) -> None:
    key = "k" * 200_000
    long_key = f"spec:\n  ? {key}\n  : 1\n"  # an explicit key: a plain one stops at 1,024
    folder = specs_with(tmp_path, env=EXAMPLE.replace("spec:\n", long_key, 1))
    [line] = refused(tmp_path, folder, "validate")
    assert "env.yaml:10:5: spec.kkkk" in line and len(line) <= 1_010, len(line)
    assert re.search(r"… \(400,\d{3} characters\)$", line), line[-60:]  # key and message


def test_every_bound_can_be_set_by_its_variable(tmp_path: Path) -> None:
    two = "---\n" + EXAMPLE + "---\n" + EXAMPLE.replace("env: prod", "env: qa")
    folder = specs_with(tmp_path, a=two, b=EXAMPLE.replace("env: prod", "env: dev"))
    [line] = refused(tmp_path, folder, "validate", PLUMB_MAX_FILE_DOCUMENTS="1")
    assert "a.yaml:57:1: more than 1 documents in one file" in line
    [line] = refused(tmp_path, folder, "validate", PLUMB_MAX_DOCUMENTS="2")
    assert "b.yaml:2:1: more than 2 documents to validate together" in line
    [line] = refused(tmp_path, folder, "validate", PLUMB_MAX_FILES="1")
    assert "more than 1 spec files to validate together" in line
    [line] = refused(tmp_path, folder, "validate", PLUMB_MAX_TOTAL_BYTES="4000")
    assert "b.yaml: more than 4,000 bytes of specs to validate together" in line
    for variable, value, says in [
        ("PLUMB_MAX_DEPTH", "2", "nested more than 2 levels deep"),
        ("PLUMB_MAX_NUMBER_DIGITS", "3", "a number of more than 3 digits"),
        ("PLUMB_MAX_FILE_BYTES", "100", "a spec file may hold at most 100"),
        ("PLUMB_MAX_VALUES", "10", "expands to more than 10 values"),
    ]:
        lines = refused(tmp_path, folder, "validate", **{variable: value})
        assert lines and all(says in line for line in lines), (variable, lines)
    alone = tmp_path / "alone.yaml"
    alone.write_text(EXAMPLE)
    result, output = plumb(tmp_path, "validate", str(alone), env={"PLUMB_MAX_DEPTH": "5"})
    assert result.exit_code == 0, output
    [line] = refused(tmp_path, alone, "validate", PLUMB_MAX_DEPTH="4")
    assert "alone.yaml:45:11: nested more than 4 levels deep" in line  # a Bedrock model id


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1e3", "101", "9" * 40])
def test_a_bad_bound_is_one_line_naming_the_variable(tmp_path: Path, value: str) -> None:
    folder = specs_with(tmp_path, env=EXAMPLE)
    [line] = refused(tmp_path, folder, "validate", PLUMB_MAX_DEPTH=value)
    assert line.startswith("error: PLUMB_MAX_DEPTH=") and "whole number from 1 to 100" in line
    assert "unset it for the default (32)" in line
