"""What one validation may read: bounds no commit can push plumb past, each overridable.

A commit is untrusted input to a controller that must go on converging: a file of a hundred
thousand documents, nesting deep enough to exhaust Python's stack, a number of thousands of
digits or a flood of errors must each end in one line, in well under a second, writing
little. The defaults sit far above what hand-written environments need (an example
environment is one document of some hundred values, five levels deep).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from controller.errors import PlumbError


@dataclass(frozen=True)
class Limits:
    """Each field is a bound; ENV names the variable that overrides it."""

    file_bytes: int = 1_000_000
    total_bytes: int = 10_000_000  # all files of one validation together
    file_documents: int = 100
    documents: int = 1_000  # all files of one validation together: a commit, a run
    files: int = 1_000
    depth: int = 32
    values: int = 10_000  # per document, each use of an alias counted again
    number_digits: int = 20
    errors: int = 50  # printed and recorded; the rest are counted


ENV = {
    "file_bytes": "PLUMB_MAX_FILE_BYTES",
    "total_bytes": "PLUMB_MAX_TOTAL_BYTES",
    "file_documents": "PLUMB_MAX_FILE_DOCUMENTS",
    "documents": "PLUMB_MAX_DOCUMENTS",
    "files": "PLUMB_MAX_FILES",
    "depth": "PLUMB_MAX_DEPTH",
    "values": "PLUMB_MAX_VALUES",
    "number_digits": "PLUMB_MAX_NUMBER_DIGITS",
    "errors": "PLUMB_MAX_ERRORS",
}

# Past these a bound protects nothing: the builder and PyYAML's composer recurse once per
# level (Python's stack holds about 1,000 frames), and Python refuses to read an integer
# of more than 4,300 digits.
_CEILING = {"depth": 100, "number_digits": 4_000}
_ANY = 1_000_000_000
LINE = 1_000  # characters of one error line, printed or recorded


def limits(env: Mapping[str, str] = os.environ) -> Limits:
    """The bounds in force: the defaults, and the variables set; a bad value is refused."""
    given: dict[str, int] = {}
    defaults = Limits()
    for bound in fields(Limits):
        name = bound.name
        raw = env.get(ENV[name], "").strip()
        if raw:
            given[name] = _whole(ENV[name], raw, getattr(defaults, name), _CEILING.get(name, _ANY))
    return Limits(**given)


def _whole(variable: str, raw: str, default: int, ceiling: int) -> int:
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else 0
    if not 1 <= value <= ceiling:
        shown = raw if len(raw) <= 20 else raw[:20] + "..."
        raise PlumbError(
            f"{variable}={shown!r} is not a whole number from 1 to {ceiling:,}: "
            f"set one, or unset it for the default ({default:,})"
        )
    return value


def shown_issues(issues: Sequence[object]) -> tuple[list[str], str]:
    """The first PLUMB_MAX_ERRORS issues as lines, and a line saying how many more there
    are ("" when none): what is printed and recorded, however many were found."""
    most = limits().errors
    more = len(issues) - most
    tail = f"… and {more:,} more errors (PLUMB_MAX_ERRORS shows more)" if more > 0 else ""
    return [_clipped(str(issue)) for issue in issues[:most]], tail


def _clipped(line: str) -> str:
    """A line of at most LINE characters: a key of a hundred thousand is quoted by the
    messages that name it (unknown field '...'), and in its path."""
    return line if len(line) <= LINE else f"{line[: LINE - 40]}… ({len(line):,} characters)"


def error_lines(issues: Sequence[object]) -> list[str]:
    """shown_issues as one list, its last line the count of those left out."""
    lines, tail = shown_issues(issues)
    return [*lines, tail] if tail else lines
