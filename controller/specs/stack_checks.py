"""What only a stack's expanded resources show: two resources of one name, a reference to
no resource of the stack, a waiver or an exception naming none, a physical name claimed
twice (claims.py), and what a resource may grant (guardrails.py). Each problem is put at
the place of the document it came from: an expanded resource's by its source mark.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from controller.errors import SpecIssue
from controller.kinds.document import Document, Path
from controller.kinds.fields import schema_for
from controller.model import Resource as Desired
from controller.specs.claims import name_claims
from controller.specs.expand import expand_document, is_composition, stack_policies
from controller.specs.guardrails import exception_problems, guardrail_issues
from controller.specs.messages import did_you_mean, issue_at

ACCOUNT = "aws:account"

_log = logging.getLogger(__name__)


def expansion_issues(docs: Sequence[Document]) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    stacks: dict[str, list[tuple[Document, list[Desired]]]] = {}
    for doc in docs:
        try:
            resources = expand_document(doc)
        except Exception as err:
            # Whatever an expander (a kind's code) raises on a valid document is a bug of
            # plumb's: said at the document, logged with its traceback, the rest still checked.
            _log.error("expanding %s failed", doc.loc(), exc_info=True)
            name = type(err).__name__
            out.append(issue_at(doc, (), f"internal error expanding {doc.kind}: {name}"))
            continue
        stacks.setdefault(doc.stack, []).append((doc, resources))
    for stack, entries in stacks.items():
        owners: dict[str, tuple[Document, Desired]] = {}
        for doc, resources in entries:
            out += _clash_issues(doc, resources, owners)
        for doc, resources in entries:
            out += _reference_issues(stack, doc, resources, owners)
            out += _waiver_issues(stack, doc, owners)
            problems = exception_problems(doc.policy, stack, list(owners))
            out += [issue_at(doc, path, message) for path, message in problems]
    everything = [(doc, res) for e in stacks.values() for doc, found in e for res in found]
    out += name_claims(everything, _resource_issue)
    out += guardrail_issues(everything, stack_policies(docs), _finding_issue)
    return out


def _finding_issue(doc: Document, res: Desired, path: Path, message: str) -> SpecIssue:
    """A problem at `path` in a resource's spec (a guardrail's finding, a reference): at
    that field in a document written directly, at the resource in a composition."""
    where = _resource_path(doc, res) if is_composition(doc.kind) else ("spec", *path)
    return issue_at(doc, where, message)


def _resource_issue(doc: Document, res: Desired, message: str) -> SpecIssue:
    """A problem with a resource as a whole: at its name, or at it in a composition."""
    path = _resource_path(doc, res) if is_composition(doc.kind) else ("metadata", "name")
    return issue_at(doc, path, message)


def _clash_issues(
    doc: Document, resources: list[Desired], owners: dict[str, tuple[Document, Desired]]
) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    for res in resources:
        first = owners.setdefault(res.name, (doc, res))
        if first[1] is not res:
            where = first[1].source or first[0].loc()
            out.append(_resource_issue(doc, res, f"{res.logical_id} is already defined at {where}"))
    return out


def _reference_issues(
    stack: str, doc: Document, resources: list[Desired], owners: Mapping[str, Any]
) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    for res in resources:
        for inner, target in references(res.spec):
            if isinstance(target, str) and (target == ACCOUNT or target in owners):
                continue
            message = (
                f"{res.logical_id} refers to '{target}', which is not a resource "
                f"of stack {stack}{did_you_mean(str(target), owners)}"
            )
            out.append(_finding_issue(doc, res, inner, message))
    return out


def _waiver_issues(
    stack: str, doc: Document, owners: Mapping[str, tuple[Document, Desired]]
) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    waivers = doc.policy.get("ignoreDrift") or []
    for index, waiver in enumerate(waivers):
        name, field = waiver.get("resource"), str(waiver.get("field", ""))
        base: Path = ("policy", "ignoreDrift", index)
        if name not in owners:
            hint = did_you_mean(str(name), owners)
            out.append(
                issue_at(doc, (*base, "resource"), f"no resource '{name}' in stack {stack}{hint}")
            )
        elif not _field_known(owners[name][1].kind, field):
            kind = owners[name][1].kind
            out.append(issue_at(doc, (*base, "field"), f"{kind} {name} has no field '{field}'"))
    return out


def _field_known(kind: str, field: str) -> bool:
    """True when the kind's schema has the field's first part (or says nothing of fields)."""
    props = schema_for(kind).get("properties") or {}
    first = field.split(".", 1)[0].split("[", 1)[0]
    return not props or first in props or first == "tags"


def _resource_path(doc: Document, res: Desired) -> Path:
    """The document path an expanded resource came from, found by its source mark."""
    if res.source is None:
        return ()
    at = (res.source.line, res.source.column)
    paths = [p for p, mark in doc.marks.items() if mark == at]
    return min(paths, key=len) if paths else ()


def references(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """(path, target) of every {"ref": target, ...} in a spec value, joins included."""
    if isinstance(value, Mapping):
        if "ref" in value:
            yield path, value["ref"]
            return
        for key, sub in value.items():
            yield from references(sub, (*path, key))
    elif isinstance(value, list | tuple):
        for index, sub in enumerate(value):
            yield from references(sub, (*path, index))
