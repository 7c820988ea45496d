"""The valid Environment spec (specs_cases/environment.yaml) the validation tests change
one thing of, and the line a snippet of a changed spec stands on."""

from __future__ import annotations

from pathlib import Path

BASE = (Path(__file__).parent / "specs_cases" / "environment.yaml").read_text()


def spec(*changes: tuple[str, str]) -> str:
    """The base with each unique snippet `old` replaced by `new`."""
    text = BASE
    for old, new in changes:
        assert text.count(old) == 1, f"not exactly one {old!r} in the base"
        text = text.replace(old, new)
    return text


def line_of(text: str, needle: str) -> int:
    [line] = [n for n, content in enumerate(text.splitlines(), 1) if needle in content]
    return line
