"""Every option of every command has an environment variable, and the README's table
documents each one, on a row that names its flag.

The walk covers whatever commands exist when the test runs, so a command or an option
added later is held to the same rule."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from controller.cli.main import main

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Environment variables"


def _commands(command: click.Command, path: str = "plumb") -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, f"{path} {name}")


def _options() -> list[tuple[str, click.Option]]:
    return [
        (path, param)
        for path, command in _commands(main)
        for param in command.params
        if isinstance(param, click.Option) and param.name not in {"help", "version"}
    ]


def _long(option: click.Option) -> str:
    return max(option.opts, key=len)


def _table() -> dict[str, str]:
    """The README table's rows by variable name."""
    text = README.read_text()
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        found = re.match(r"\|\s*`(PLUMB_[A-Z0-9_]+)`\s*\|", line)
        if found:
            assert found[1] not in rows, f"{found[1]} has two rows"
            rows[found[1]] = line
    return rows


OPTIONS = _options()


@pytest.mark.parametrize(("path", "option"), OPTIONS, ids=[f"{p} {_long(o)}" for p, o in OPTIONS])
def test_every_option_has_an_environment_variable_in_the_readme(
    path: str, option: click.Option
) -> None:
    # A pending option is checked as soon as it has a variable.
    assert option.envvar, f"`{path} {_long(option)}` has no envvar="
    names = [option.envvar] if isinstance(option.envvar, str) else list(option.envvar)
    rows = _table()
    for name in names:
        assert name in rows, f"{name} ({path} {_long(option)}) is not in the README's table"
        assert f"`{_long(option)}" in rows[name], f"the README's row of {name} does not name it"


def test_one_variable_means_one_flag() -> None:
    flags: dict[str, str] = {}
    for path, option in OPTIONS:
        if option.envvar:
            name = option.envvar if isinstance(option.envvar, str) else option.envvar[0]
            assert flags.setdefault(name, _long(option)) == _long(option), (
                f"{name} stands for {flags[name]} and for {_long(option)} ({path})"
            )
