"""Reading spec files: YAML into plain data, with the line and column of every node.

PyYAML's composer gives nodes that carry their marks; plumb builds the Python values from
those nodes itself so it can keep a mark for every path, and so it can refuse what plain
`yaml.safe_load` silently accepts (a key given twice: the last one wins without a word).
Scalar values follow SafeLoader's YAML 1.1 rules (`yes`/`on` are booleans, `1e3` is a
string, `010` is octal), except timestamps, which stay as the text written: JSON has no
date type, and plans and reports are JSON. Mapping keys are always the text written, so
`on:` is the key "on", not True.

One commit must never be able to stall the controller, so what a spec may cost is bounded
(bounds.py) before any of it is built: the files and documents read, control characters
and nesting (yaml_stream.py, as the text is read), a file's size, a number's digits, and
the values a document expands to, every use of an alias counted (a "billion laughs" of
nested aliases or merge keys is refused at the line of the first value past the budget, in
milliseconds). Merge keys are folded in here rather than by PyYAML, whose flattening copies
pair lists and grows exponentially under nested merges before any budget could see it.
"""

from __future__ import annotations

import re
from pathlib import Path as FsPath
from typing import Any

import yaml

from controller.errors import SpecError, SpecIssue
from controller.kinds.document import Document, Path
from controller.specs.credentials import shown_key, shown_path
from controller.specs.yaml_stream import CONTROL, Loader, Refused, Tally, documents, open_text

SUFFIXES = (".yaml", ".yml")
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class _TooBig(Exception):
    """A document past its budget: one issue, and building stops at once."""

    def __init__(self, issue: SpecIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


class _Issues(Exception):
    """Problems found while building one document; the document is dropped."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        super().__init__(len(issues))
        self.issues = issues


def load_documents(root: str | FsPath) -> list[Document]:
    """Every document of every *.yaml / *.yml under `root` (a folder, or one file).

    Files are read in path order; hidden files and folders are skipped. Raises SpecError
    with every problem of every file, not the first one only.
    """
    docs, issues = collect_documents(root)
    if issues:
        raise SpecError(issues)
    return docs


def collect_documents(
    root: str | FsPath, shown_as: str | None = None, tally: Tally | None = None
) -> tuple[list[Document], list[SpecIssue]]:
    """The documents that load, and the problems of those that do not.

    `shown_as` names `root` in every message and source location: a checkout of a commit
    is named as the repository has it ("specs/acme-prod.yaml"), not by plumb's folder.
    `tally` counts files and documents across the roots of one validation."""
    tally = tally or Tally()
    docs: list[Document] = []
    issues: list[SpecIssue] = []
    where = shown_as or str(root)
    files = spec_files(root, tally.limits.files - tally.files + 1)
    tally.files += len(files)
    if tally.files > tally.limits.files:
        tally.exceeded = True
        message = (
            f"more than {tally.limits.files:,} spec files to validate together: "
            "validate fewer at a time, or raise PLUMB_MAX_FILES"
        )
        return [], [SpecIssue(where, 0, 0, "", message)]
    if not files:
        issues.append(SpecIssue(where, 0, 0, "", f"no spec files found in {where}"))
    for file in files:
        found, problems = _load_file(file, _shown(file, root, shown_as), tally)
        docs.extend(found)
        issues.extend(problems)
        if tally.exceeded:
            break
    return docs, issues


def spec_files(root: str | FsPath, most: int | None = None) -> list[FsPath]:
    """The spec files under `root`, as paths joined from it (so "specs/acme-prod.yaml");
    the search stops at `most` files, so a tree of millions is not walked to its end."""
    base = FsPath(root)
    if base.is_file():
        return [base]
    if not base.is_dir():
        return []
    found: list[FsPath] = []
    for p in base.rglob("*"):
        if (
            p.suffix in SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(base).parts)
        ):
            found.append(p)
            if most is not None and len(found) >= most:
                break
    return sorted(found, key=lambda p: p.relative_to(base).as_posix())


def _shown(file: FsPath, root: str | FsPath, shown_as: str | None) -> str:
    if shown_as is None:
        return file.as_posix()
    base = FsPath(root)
    inside = file.relative_to(base) if base.is_dir() else FsPath(file.name)
    return (FsPath(shown_as) / inside).as_posix() if base.is_dir() else shown_as


def _load_file(path: FsPath, file: str, tally: Tally) -> tuple[list[Document], list[SpecIssue]]:
    try:
        size, most = path.stat().st_size, tally.limits.file_bytes
        if size > most:
            message = (
                f"the file is {size:,} bytes; a spec file may hold at most {most:,}: "
                "split it, one environment per file"
            )
            return [], [SpecIssue(file, 0, 0, "", message)]
        tally.bytes += size
        if tally.bytes > tally.limits.total_bytes:
            tally.exceeded = True
            message = (
                f"more than {tally.limits.total_bytes:,} bytes of specs to validate together: "
                "validate fewer at a time, or raise PLUMB_MAX_TOTAL_BYTES"
            )
            return [], [SpecIssue(file, 0, 0, "", message)]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        return [], [SpecIssue(file, 1, 1, "", f"not UTF-8 text ({err.reason})")]
    except OSError as err:
        return [], [SpecIssue(file, 0, 0, "", f"cannot read: {err.strerror or err}")]
    return _parse(text, file, tally)


def _parse(text: str, file: str, tally: Tally) -> tuple[list[Document], list[SpecIssue]]:
    loader = open_text(text, file, tally.limits)
    if isinstance(loader, SpecIssue):
        return [], [loader]
    docs: list[Document] = []
    issues: list[SpecIssue] = []
    try:
        for index, node in enumerate(documents(loader, tally)):
            if _is_empty(node):
                continue
            try:
                docs.append(_document(node, file, index, loader))
            except _Issues as bad:
                issues.extend(bad.issues)
    except Refused as refused:
        return [], [refused.issue(file)]
    except yaml.MarkedYAMLError as err:
        issues.append(_yaml_issue(err, file))
    except yaml.YAMLError as err:  # an error without a mark; only its first line is said
        first = (str(err).splitlines() or ["unreadable"])[0]
        issues.append(SpecIssue(file, 1, 1, "", f"invalid YAML: {first}"))
    finally:
        loader.dispose()
    return docs, issues


def _is_empty(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL and node.value in ("", "~")


def _yaml_issue(err: yaml.MarkedYAMLError, file: str) -> SpecIssue:
    mark = err.problem_mark or err.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    # problem and context only: str(err) would quote the offending lines, secrets and all
    message = f"invalid YAML: {err.problem or err.context}"
    if err.problem and err.context and err.context_mark:
        at = err.context_mark
        message += f" ({err.context}, which starts on line {at.line + 1}, column {at.column + 1})"
    return SpecIssue(file, line, col, "", message)


def _document(node: yaml.Node, file: str, index: int, loader: Loader) -> Document:
    if not isinstance(node, yaml.MappingNode):
        line, col = _pos(node)
        got = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
        message = f"a spec document must be a mapping (apiVersion, kind, metadata, ...), not {got}"
        raise _Issues([SpecIssue(file, line, col, "", message)])
    builder = _Builder(file, loader)
    try:
        body = builder.build(node, ())
    except _TooBig as big:
        raise _Issues([big.issue]) from None
    if builder.issues:
        raise _Issues(builder.issues)
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
