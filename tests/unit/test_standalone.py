"""The repository stands alone: a clone is all a reader has, so no file may point at a folder
beside the repository or at a Markdown document the repository does not hold."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A folder of that name anywhere in a path: the design notes the project grew from lived in
# one beside the repository, and a clone has no such folder. (Named apart, so this file does
# not match itself.)
FOLDER = "shared"
OUTSIDE = re.compile(rf"(?<![\w.-])(?:\.\./)*{FOLDER}/")
# A path ending in .md that starts a word; URLs never match (each part follows a "/").
MARKDOWN = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w.-]+\.md)\b")
# Markdown that a command writes, not a document: the README's CI workflow saves
# `plumb plan --format markdown` as plan.md.
WRITTEN = frozenset({"plan.md"})


def _files() -> list[str]:
    """Tracked files and new ones not yet added (ignored ones are not the repository's)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the repository's files are not known")
    return [name for name in out.splitlines() if (ROOT / name).is_file()]


def problems(text: str, file: str, held: frozenset[str]) -> list[str]:
    """Each reference in `text` (the content of `file`) that leaves the repository."""
    found = [f"refers outside the repository: {m.group(0)!r}" for m in OUTSIDE.finditer(text)]
    for match in MARKDOWN.finditer(text):
        ref = match.group(1)
        if ref in WRITTEN:
            continue
        candidates = {(ROOT / ref).resolve(), (ROOT / file).parent.joinpath(ref).resolve()}
        names = {p.relative_to(ROOT).as_posix() for p in candidates if p.is_relative_to(ROOT)}
        if not names & held:
            found.append(f"cites a document the repository does not hold: {ref}")
    return found


def test_no_file_refers_outside_the_repository() -> None:
    files = _files()
    held = frozenset(files)
    bad = []
    for name in files:
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        for number, line in enumerate(text.splitlines(), 1):
            bad += [f"{name}:{number}: {p}" for p in problems(line, name, held)]
    assert not bad, "\n".join(bad)


def test_the_check_finds_what_it_is_for() -> None:
    md = ".md"  # built, so this file holds no such reference itself
    held = frozenset({"README.md", "docs/design.md", "docs/moto.md"})
    here = "reconcilers/nat_gateway.py"
    assert problems(f"moto ignores it (MOTO{md} rows 8 and 14)", here, held)
    assert problems(f"the stack of DESIGN{md} §1", here, held)
    assert problems(f"figures in (`../{FOLDER}/PEERS{md}`)", "README.md", held) == [
        f"refers outside the repository: '../{FOLDER}/'",
        f"cites a document the repository does not hold: ../{FOLDER}/PEERS{md}",
    ]
    assert problems(f"see ../../{FOLDER}/notes.txt", here, held)
    assert not problems(f"moto ignores it (docs/moto{md}, NAT gateways)", here, held)
    assert not problems(f"see [the design](design{md})", "docs/moto.md", held)
    assert not problems(f"https://github.com/o/r/blob/main/CONTRIBUTING{md}", here, held)
    assert not problems("the shared values at the bottom", here, held)
