"""A YAML text read one document at a time, within the bounds of one validation.

The bounds that must hold before a document is built live here: control characters in the
raw text, the documents of a file and of the whole validation (counted as each one starts,
so a file of a hundred thousand is refused at the first past the bound, unread beyond it),
and nesting, checked while PyYAML composes: its scanner and parser keep their own stacks,
but composing recurses once per level and would exhaust Python's stack on a few hundred
levels before any built value could be counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from controller.errors import SpecIssue
from controller.specs.bounds import ENV, Limits, limits

# C0 controls but tab, newline and carriage return, and DEL: never in a hand-written spec,
# and PyYAML's own refusal of some of them would quote the text around them.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class Tally:
    """What one validation has read so far, across all its files and folders."""

    limits: Limits = field(default_factory=limits)
    files: int = 0
    bytes: int = 0
    documents: int = 0
    exceeded: bool = False  # a bound of the whole validation was passed: read no further

    def past(self, bound: str, what: str) -> str:
        """Why the validation is past `bound` (a field of Limits) and reads no further."""
        self.exceeded = True
        return (
            f"more than {getattr(self.limits, bound):,} {what} to validate together: "
            f"validate fewer at a time, or raise {ENV[bound]}"
        )


class Refused(Exception):
    """A file past a bound while it is read: one issue, and the file is read no further."""

    def __init__(self, mark: yaml.Mark | None, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message

    def issue(self, file: str) -> SpecIssue:
        line, col = (self.mark.line + 1, self.mark.column + 1) if self.mark else (1, 1)
        return SpecIssue(file, line, col, "", self.message)


class Loader(yaml.SafeLoader):
    """SafeLoader whose composer refuses nesting past the bound as it descends. A level
    more than the builder's bound: the document's root is a level to the composer."""

    def __init__(self, text: str, bounds: Limits) -> None:
        super().__init__(text)
        self.bounds = bounds
        self.most = bounds.depth + 1
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self.depth += 1
        try:
            if self.depth > self.most:
                mark = self.peek_event().start_mark
                raise Refused(mark, f"nested more than {self.most - 1} levels deep: flatten it")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def open_text(text: str, file: str, bounds: Limits) -> Loader | SpecIssue:
    """A loader for `text`, or the one issue that refuses it before YAML is read."""
    control = CONTROL.search(text)
    if control:
        line, col = line_col(text, control.start())
        message = (
            f"a control character (U+{ord(control.group()):04X}) in the text: a spec is plain "
            "text; remove it"
        )
        return SpecIssue(file, line, col, "", message)
    try:
        return Loader(text, bounds)
    except yaml.reader.ReaderError as err:  # a character YAML refuses; str(err) quotes text
        line, col = line_col(text, err.position)
        message = f"invalid YAML: a character YAML refuses (U+{err.character:04X}): remove it"
        return SpecIssue(file, line, col, "", message)


def line_col(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset."""
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def documents(loader: Loader, tally: Tally) -> Iterator[yaml.Node]:
    """Each document's root node, composed only when the one before has been built."""
    in_file = 0
    while loader.check_node():
        in_file, tally.documents = in_file + 1, tally.documents + 1
        if in_file > tally.limits.file_documents:
            raise Refused(
                loader.peek_event().start_mark,
                f"more than {tally.limits.file_documents:,} documents in one file: split it, "
                "or raise PLUMB_MAX_FILE_DOCUMENTS",
            )
        if tally.documents > tally.limits.documents:
            raise Refused(loader.peek_event().start_mark, tally.past("documents", "documents"))
        yield loader.get_node()
