"""One YAML document's nodes built into plain values, with the line and column of every path.

PyYAML's composer gives nodes that carry their marks; plumb builds the Python values from
them itself (load.py reads the files) so it keeps a mark for every path and refuses what
`yaml.safe_load` silently accepts: a key given twice, a recursive alias, control
characters an escape wrote. Every value built is counted, each use of an alias included,
and building stops at the first value past the document's budget. Merge keys are folded in
here rather than by PyYAML, whose flattening grows exponentially under nested merges before
any budget could see it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from controller.errors import SpecIssue
from controller.kinds.document import Document, Path
from controller.specs.credentials import shown_key, shown_path
from controller.specs.yaml_stream import CONTROL, Loader

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class _TooBig(Exception):
    """A document past its budget: one issue, and building stops at once."""

    def __init__(self, issue: SpecIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


class BadDocument(Exception):
    """Problems found while building one document; the document is dropped."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        super().__init__(len(issues))
        self.issues = issues


def build_document(node: yaml.Node, file: str, index: int, loader: Loader) -> Document:
    if not isinstance(node, yaml.MappingNode):
        line, col = _pos(node)
        got = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
        message = f"a spec document must be a mapping (apiVersion, kind, metadata, ...), not {got}"
        raise BadDocument([SpecIssue(file, line, col, "", message)])
    builder = _Builder(file, loader)
    try:
        body = builder.build(node, ())
    except _TooBig as big:
        raise BadDocument([big.issue]) from None
    if builder.issues:
        raise BadDocument(builder.issues)
    return Document(file=file, body=body, marks=builder.marks, index=index)


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Plain Python data from one document's nodes, recording the mark of every path."""

    def __init__(self, file: str, loader: Loader) -> None:
        self.file = file
        self.loader = loader
        self.bounds = loader.bounds
        self.marks: dict[Path, tuple[int, int]] = {}
        self.issues: list[SpecIssue] = []
        self._open: set[int] = set()  # nodes being built, to stop a recursive alias
        self._built = 0

    def build(self, node: yaml.Node, path: Path, mark: tuple[int, int] | None = None) -> Any:
        self._built += 1
        if self._built > self.bounds.values:
            self._too_big(
                node,
                path,
                f"the document expands to more than {self.bounds.values:,} values "
                "(aliases used over and over?); write the values out or split it",
            )
        if len(path) > self.bounds.depth:
            self._too_big(
                node, path, f"nested more than {self.bounds.depth} levels deep: flatten it"
            )
        self.marks[path] = mark or _pos(node)
        if id(node) in self._open:
            self._issue(node, path, "an alias refers to the node that contains it")
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        self._find_duplicates(node, path)
        # merge keys (<<: *base) are folded in first; keys written here then override them
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                out.update(self._merged(value_node, path))
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            out[key] = self.build(value_node, (*path, key), _pos(key_node))
        return out

    def _merged(self, node: yaml.Node, path: Path) -> dict[str, Any]:
        """`<<: *a` or `<<: [*a, *b]`; in a list the earlier mapping wins, as YAML says."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        own_mark = self.marks.get(path)
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                self._issue(source, path, "a merge key (<<) takes a mapping or a list of them")
                continue
            if id(source) in self._open:
                self._issue(source, path, "an alias refers to the node that contains it")
                continue
            self._built += 1
            self._open.add(id(source))
            try:
                merged.update(self._mapping(source, path))
            finally:
                self._open.discard(id(source))
        if own_mark is not None:
            self.marks[path] = own_mark
        return merged

    def _too_big(self, node: yaml.Node, path: Path, message: str) -> None:
        line, col = _pos(node)
        raise _TooBig(SpecIssue(self.file, line, col, shown_path(path), message))

    def _find_duplicates(self, node: yaml.MappingNode, path: Path) -> None:
        seen: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                continue
            first = seen.setdefault(key_node.value, key_node)
            if first is not key_node:
                line, _col = _pos(first)
                message = f"duplicate key {shown_key(key_node.value)} (first given on line {line})"
                self._issue(key_node, (*path, key_node.value), message)

    def _key(self, node: yaml.Node, path: Path) -> str | None:
        if isinstance(node, yaml.ScalarNode):
            return self._no_control(node, path, str(node.value))
        self._issue(node, path, "a mapping key must be a plain value, not a list or mapping")
        return None

    def _scalar(self, node: yaml.Node, path: Path) -> Any:
        if node.tag == _TIMESTAMP:
            return str(node.value)
        most = self.bounds.number_digits
        if node.tag in _NUMBERS and len(re.findall(r"[0-9a-fA-F]", node.value)) > most:
            # before Python reads it: past 4,300 digits int() raises, and no AWS field
            # takes a number this long
            self._issue(node, path, f"a number of more than {most} digits: quote it if it is text")
            return None
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as err:
            self._issue(node, path, f"invalid value: {err.problem}")
            return None
        except ValueError:  # a value PyYAML's resolver took for a number Python cannot read
            self._issue(node, path, "invalid value: not a number Python can read; quote it")
            return None
        return self._no_control(node, path, value) if isinstance(value, str) else value

    def _no_control(self, node: yaml.Node, path: Path, text: str) -> str | None:
        """Text without control characters: an escape ("\\0") can write what the raw text
        may not hold."""
        found = CONTROL.search(text)
        if found is None:
            return text
        message = f"holds a control character (U+{ord(found.group()):04X}): remove it"
        self._issue(node, path, message)
        return None

    def _issue(self, node: yaml.Node, path: Path, message: str) -> None:
        line, col = _pos(node)
        self.issues.append(SpecIssue(self.file, line, col, shown_path(path), message))
