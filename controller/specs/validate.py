"""Spec validation: every layer runs, and every problem is reported at once.

Layers, after YAML syntax (load.py): the envelope (apiVersion, a known kind), the kind's
JSON Schema, schema defaults, the kind's semantic checks, then what only the whole set of
documents can show (a stack defined twice) and what only the expansion can show
(references, waivers and exceptions that name no resource of their stack; what a
resource may grant: controller/specs/guardrails.py). Each problem is a
SpecIssue naming file, line, column and the dotted path in the document.

Kinds are only ever looked up through the registry: a kind with an expander (a
composition) is described whole by its schema; any other registered kind is written as
an envelope (schemas/envelope.json) around a `spec` its own schema describes.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path as FsPath
from typing import Any

from controller.errors import SpecError, SpecIssue
from controller.kinds import registry
from controller.kinds.document import Document, Path
from controller.kinds.fields import schema_for
from controller.kinds.schemas import document_validator, with_defaults
from controller.model import Resource as Desired
from controller.specs.claims import name_claims
from controller.specs.credentials import credential_issues, shown_path
from controller.specs.expand import expand_document, stack_policies
from controller.specs.guardrails import exception_problems, guardrail_issues
from controller.specs.load import Tally, collect_documents
from controller.specs.messages import explain

API_VERSION = "plumb/v1"
ACCOUNT = "aws:account"
_ENVELOPE = {"missing required field 'apiVersion'", "missing required field 'kind'"}


def load_and_validate(
    root: str | FsPath | Sequence[str | FsPath], shown_as: str | None = None
) -> list[Document]:
    """The documents under `root` (a folder or file, or several), validated, with schema
    defaults filled in.

    The documents of files that load are validated even when another file is broken, so
    one run shows every problem. Several roots are validated together, as one set: a
    reference from one file to another resolves.
    """
    roots = [root] if isinstance(root, str | FsPath) else list(dict.fromkeys(root))
    docs: list[Document] = []
    issues: list[SpecIssue] = []
    tally = Tally()
    for one in roots:
        found, problems = collect_documents(one, shown_as, tally)
        docs, issues = docs + found, issues + problems
        if tally.exceeded:  # past a bound of the whole set: refused as one, unvalidated
            raise SpecError(issues)
    valid: list[Document] = []
    if docs or not issues:
        try:
            valid = validate(docs, where=shown_as or ", ".join(map(str, roots)))
        except SpecError as err:
            issues = [*issues, *err.issues]
    if issues:
        raise SpecError(issues)
    return valid


def validate(docs: Sequence[Document], where: str = "") -> list[Document]:
    """The documents with defaults filled in; raises SpecError with every issue found.

    `where` names the folder the documents came from, for the error when there are none.
    """
    issues: list[SpecIssue] = []
    if not docs:
        found_in = f" in {where}" if where else ""
        issues.append(SpecIssue(where, 0, 0, "", f"no spec documents found{found_in}"))
    kinds = registry.known_kinds()
    valid: list[Document] = []
    failed_stacks: set[str] = set()
    for doc in docs:
        envelope = _envelope_issues(doc, kinds)
        found = envelope + (_schema_issues(doc) if doc.kind in kinds else [])
        if not found:
            doc = with_defaults(doc)
            found = _semantic_issues(doc)
        elif not envelope:
            found += _best_effort_semantics(doc, found)
        found = _with_credentials(doc, found)
        if found:
            failed_stacks.add(doc.stack)
        else:
            valid.append(doc)
        issues += found
    twins = _duplicate_issues([d for d in docs if d.kind in kinds])
    failed_stacks |= {doc.stack for doc, _ in twins}
    issues += [issue for _, issue in twins]
    issues += _expansion_issues([d for d in valid if d.stack not in failed_stacks])
    if issues:
        raise SpecError(issues)
    return valid


def _issue(doc: Document, path: Path, message: str) -> SpecIssue:
    line, column = doc.position(path)
    return SpecIssue(doc.file, line, column, shown_path(path), message)


def _is_composition(kind: str) -> bool:
    return kind in registry.EXPANDERS


# -- envelope -------------------------------------------------------------------------


def _envelope_issues(doc: Document, kinds: Sequence[str]) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    body = doc.body
    known = f"known kinds: {', '.join(kinds)}"
    if "apiVersion" not in body:
        out.append(_issue(doc, (), f"missing apiVersion: write apiVersion: {API_VERSION}"))
    elif body["apiVersion"] != API_VERSION:
        got = json.dumps(body["apiVersion"], default=str)
        out.append(_issue(doc, ("apiVersion",), f"unsupported apiVersion {got}; use {API_VERSION}"))
    if "kind" not in body:
        out.append(_issue(doc, (), f"missing kind: say what this document describes ({known})"))
    elif not isinstance(body["kind"], str) or body["kind"] not in kinds:
        close = difflib.get_close_matches(str(body["kind"]), kinds, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        out.append(_issue(doc, ("kind",), f"unknown kind '{body['kind']}'{hint}; {known}"))
    return out


# -- JSON Schema ----------------------------------------------------------------------


def _schema_issues(doc: Document) -> list[SpecIssue]:
    seen: dict[tuple[str, str], SpecIssue] = {}
    for error in document_validator(doc.kind).iter_errors(doc.body):
        for path, message in explain(error):
            if path[:1] in (("apiVersion",), ("kind",)) or (not path and message in _ENVELOPE):
                continue  # the envelope layer has said it in plainer words
            issue = _issue(doc, path, message)
            seen.setdefault((issue.path, message), issue)
    return list(seen.values())


# -- semantic checks ------------------------------------------------------------------


def _semantic_issues(doc: Document) -> list[SpecIssue]:
    check = registry.CHECKS.get(doc.kind)
    if check is None:
        return []
    try:
        found = check(doc)
    except Exception as err:  # a bug in a check must not hide the other documents' issues
        return [_issue(doc, (), f"internal error in the {doc.kind} checks: {type(err).__name__}")]
    return [_issue(doc, tuple(path), message) for path, message in found]


def _best_effort_semantics(doc: Document, known: list[SpecIssue]) -> list[SpecIssue]:
    """Semantic checks on a document the schema rejected, so a secret given by value is not
    hidden behind a typo; a check that trips over the malformed part says nothing."""
    try:
        found = registry.CHECKS[doc.kind](doc) if doc.kind in registry.CHECKS else []
    except Exception:  # expected on a document the schema already rejected
        return []
    # A check reading a section the schema rejected would only restate that error in other
    # words (a string where a list belongs checked letter by letter; `env: on` read as a
    # bucket name "acme-True-storage"): one wrong value, one error.
    flagged = {_section(i.path) for i in known}
    out = [_issue(doc, tuple(path), message) for path, message in found]
    return [i for i in out if _section(i.path) not in flagged]


def _section(dotted_path: str) -> str:
    """The part of a document an issue is in: `metadata`, or `spec.<section>`."""
    parts = dotted_path.split("[", 1)[0].split(".")
    return ".".join(parts[:2] if parts[0] == "spec" else parts[:1])


def _with_credentials(doc: Document, found: list[SpecIssue]) -> list[SpecIssue]:
    """Issues for every string shaped like a credential, anywhere in the document. A kind's
    own word on a secret at that place is the more precise and stays; any other issue there
    (a pattern the value breaks) is less important than the leak and gives way to it."""
    found_at = (_issue(doc, leak.path, leak.message) for leak in credential_issues(doc.body))
    # a key and its value both shaped like a credential: one place, said once
    leaks = list({(i.path, i.line, i.column): i for i in found_at}.values())
    at = {i.path for i in leaks}
    known = {i.path for i in found if "secret" in i.message or "credential" in i.message}
    kept = [i for i in found if i.path not in at or i.path in known]
    return [*kept, *(i for i in leaks if i.path not in known)]


# -- across documents -----------------------------------------------------------------


def _identity(doc: Document) -> str | None:
    """What must be unique across documents: a composition's stack, a resource's logical id."""
    meta = doc.metadata
    if not isinstance(meta.get("product"), str) or not isinstance(meta.get("env"), str):
        return None
    if _is_composition(doc.kind):
        return f"stack {doc.stack}"
    name = meta.get("name")
    return f"{doc.kind} {doc.stack}/{name}" if isinstance(name, str) else None


def _duplicate_issues(docs: Sequence[Document]) -> list[tuple[Document, SpecIssue]]:
    groups: dict[str, list[Document]] = {}
    for doc in docs:
        key = _identity(doc)
        if key is not None:
            groups.setdefault(key, []).append(doc)
    out: list[tuple[Document, SpecIssue]] = []
    for key, group in groups.items():
        for doc in group if len(group) > 1 else ():
            others = ", ".join(str(o.loc()) for o in group if o is not doc)
            out.append((doc, _issue(doc, ("metadata",), f"{key} is also defined at {others}")))
    return out


# -- after expansion ------------------------------------------------------------------


def _expansion_issues(docs: Sequence[Document]) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    stacks: dict[str, list[tuple[Document, list[Desired]]]] = {}
    for doc in docs:
        try:
            resources = expand_document(doc)
        except Exception as err:  # an expander bug: say where, keep checking the rest
            name = type(err).__name__
            out.append(_issue(doc, (), f"internal error expanding {doc.kind}: {name}"))
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
            out += [_issue(doc, path, message) for path, message in problems]
    everything = [(doc, res) for e in stacks.values() for doc, found in e for res in found]
    out += name_claims(everything, _resource_issue)
    out += guardrail_issues(everything, stack_policies(docs), _finding_issue)
    return out


def _finding_issue(doc: Document, res: Desired, path: Path, message: str) -> SpecIssue:
    """A guardrail's finding, at its field in a document written directly."""
    where = _resource_path(doc, res) if _is_composition(doc.kind) else ("spec", *path)
    return _issue(doc, where, message)


def _resource_issue(doc: Document, res: Desired, message: str) -> SpecIssue:
    path = _resource_path(doc, res) if _is_composition(doc.kind) else ("metadata", "name")
    return _issue(doc, path, message)


def _clash_issues(
    doc: Document, resources: list[Desired], owners: dict[str, tuple[Document, Desired]]
) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    for res in resources:
        first = owners.setdefault(res.name, (doc, res))
        if first[1] is not res:
            where = first[1].source or first[0].loc()
            path = _resource_path(doc, res) if _is_composition(doc.kind) else ("metadata", "name")
            out.append(_issue(doc, path, f"{res.logical_id} is already defined at {where}"))
    return out


def _reference_issues(
    stack: str, doc: Document, resources: list[Desired], owners: Mapping[str, Any]
) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    for res in resources:
        for inner, target in references(res.spec):
            if isinstance(target, str) and (target == ACCOUNT or target in owners):
                continue
            close = difflib.get_close_matches(str(target), list(owners), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            message = (
                f"{res.logical_id} refers to '{target}', which is not a resource "
                f"of stack {stack}{hint}"
            )
            if _is_composition(doc.kind):
                out.append(_issue(doc, _resource_path(doc, res), message))
            else:
                out.append(_issue(doc, ("spec", *inner), message))
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
            close = difflib.get_close_matches(str(name), list(owners), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.append(
                _issue(doc, (*base, "resource"), f"no resource '{name}' in stack {stack}{hint}")
            )
        elif not _field_known(owners[name][1].kind, field):
            kind = owners[name][1].kind
            out.append(_issue(doc, (*base, "field"), f"{kind} {name} has no field '{field}'"))
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
