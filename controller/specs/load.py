"""Reading spec files: YAML into plain data, with the line and column of every node.

PyYAML's composer gives nodes that carry their marks; plumb builds the Python values from
those nodes itself (yaml_values.py) so it can keep a mark for every path, and so it can
refuse what plain `yaml.safe_load` silently accepts (a key given twice: the last one wins
without a word).
Scalar values follow SafeLoader's YAML 1.1 rules (`yes`/`on` are booleans, `1e3` is a
string, `010` is octal), except timestamps, which stay as the text written: JSON has no
date type, and plans and reports are JSON. Mapping keys are always the text written, so
`on:` is the key "on", not True.

One commit must never be able to stall the controller, so what a spec may cost is bounded
(bounds.py) before any of it is built: the files and documents read, control characters
and nesting (yaml_stream.py, as the text is read), a file's size, a number's digits, and
the values a document expands to, every use of an alias counted (a "billion laughs" of
nested aliases or merge keys is refused at the line of the first value past the budget, in
milliseconds). Merge keys are folded in by plumb too, not by PyYAML, whose flattening
copies pair lists and grows exponentially under nested merges before any budget could see it.
"""

from __future__ import annotations

from pathlib import Path as FsPath

import yaml

from controller.errors import SpecError, SpecIssue
from controller.kinds.document import Document
from controller.specs.yaml_stream import Refused, Tally, documents, open_text
from controller.specs.yaml_values import BadDocument, build_document

SUFFIXES = (".yaml", ".yml")
_NULL = "tag:yaml.org,2002:null"


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
        return [], [SpecIssue(where, 0, 0, "", tally.past("files", "spec files"))]
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
            return [], [SpecIssue(file, 0, 0, "", tally.past("total_bytes", "bytes of specs"))]
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
                docs.append(build_document(node, file, index, loader))
            except BadDocument as bad:
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
