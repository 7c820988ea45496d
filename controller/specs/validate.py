"""Spec validation: every layer runs, and every problem is reported at once.

Layers, after YAML syntax (load.py): the envelope (apiVersion, a known kind), the kind's
JSON Schema, schema defaults, the kind's semantic checks, then what only the whole set of
documents can show (a stack defined twice) and what only the expansion can show
(stack_checks.py: references, waivers and exceptions that name no resource of their stack;
what a resource may grant). Each problem is a SpecIssue naming file, line, column and the
dotted path in the document.

Kinds are only ever looked up through the registry: a kind with an expander (a
composition) is described whole by its schema; any other registered kind is written as
an envelope (schemas/envelope.json) around a `spec` its own schema describes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path as FsPath

from controller.errors import SpecError, SpecIssue
from controller.kinds import registry
from controller.kinds.document import Document
from controller.kinds.schemas import document_validator, with_defaults
from controller.specs.credentials import credential_issues
from controller.specs.expand import is_composition
from controller.specs.load import Tally, collect_documents
from controller.specs.messages import did_you_mean, explain, issue_at
from controller.specs.stack_checks import expansion_issues
from controller.specs.stack_checks import references as references  # plan_checks reads it here

API_VERSION = "plumb/v1"
_ENVELOPE = {"missing required field 'apiVersion'", "missing required field 'kind'"}

_log = logging.getLogger(__name__)


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
    issues += expansion_issues([d for d in valid if d.stack not in failed_stacks])
    if issues:
        raise SpecError(issues)
    return valid


# -- envelope -------------------------------------------------------------------------


def _envelope_issues(doc: Document, kinds: Sequence[str]) -> list[SpecIssue]:
    out: list[SpecIssue] = []
    body = doc.body
    known = f"known kinds: {', '.join(kinds)}"
    if "apiVersion" not in body:
        out.append(issue_at(doc, (), f"missing apiVersion: write apiVersion: {API_VERSION}"))
    elif body["apiVersion"] != API_VERSION:
        got = json.dumps(body["apiVersion"], default=str)
        out.append(
            issue_at(doc, ("apiVersion",), f"unsupported apiVersion {got}; use {API_VERSION}")
        )
    if "kind" not in body:
        out.append(issue_at(doc, (), f"missing kind: say what this document describes ({known})"))
    elif not isinstance(body["kind"], str) or body["kind"] not in kinds:
        hint = did_you_mean(str(body["kind"]), kinds)
        out.append(issue_at(doc, ("kind",), f"unknown kind '{body['kind']}'{hint}; {known}"))
    return out


# -- JSON Schema ----------------------------------------------------------------------


def _schema_issues(doc: Document) -> list[SpecIssue]:
    seen: dict[tuple[str, str], SpecIssue] = {}
    for error in document_validator(doc.kind).iter_errors(doc.body):
        for path, message in explain(error):
            if path[:1] in (("apiVersion",), ("kind",)) or (not path and message in _ENVELOPE):
                continue  # the envelope layer has said it in plainer words
            issue = issue_at(doc, path, message)
            seen.setdefault((issue.path, message), issue)
    return list(seen.values())


# -- semantic checks ------------------------------------------------------------------


def _semantic_issues(doc: Document) -> list[SpecIssue]:
    check = registry.CHECKS.get(doc.kind)
    if check is None:
        return []
    try:
        found = check(doc)
    except Exception as err:
        # Whatever a kind's check raises on a document its schema accepts is a bug of plumb's:
        # said at the document, logged with its traceback; the other documents' issues stand.
        _log.error("the %s checks failed on %s", doc.kind, doc.loc(), exc_info=True)
        return [issue_at(doc, (), f"internal error in the {doc.kind} checks: {type(err).__name__}")]
    return [issue_at(doc, tuple(path), message) for path, message in found]


def _best_effort_semantics(doc: Document, known: list[SpecIssue]) -> list[SpecIssue]:
    """Semantic checks on a document the schema rejected, so a secret given by value is not
    hidden behind a typo; a check that trips over the malformed part says nothing."""
    try:
        found = registry.CHECKS[doc.kind](doc) if doc.kind in registry.CHECKS else []
    except Exception:
        # Whatever a check raises tripping over the part the schema rejected (a KeyError, a
        # TypeError on a wrong type...): expected, and the schema's issue already says it.
        _log.debug("the %s checks gave up on %s", doc.kind, doc.loc(), exc_info=True)
        return []
    # A check reading a section the schema rejected would only restate that error in other
    # words (a string where a list belongs checked letter by letter; `env: on` read as a
    # bucket name "acme-True-storage"): one wrong value, one error.
    flagged = {_section(i.path) for i in known}
    out = [issue_at(doc, tuple(path), message) for path, message in found]
    return [i for i in out if _section(i.path) not in flagged]


def _section(dotted_path: str) -> str:
    """The part of a document an issue is in: `metadata`, or `spec.<section>`."""
    parts = dotted_path.split("[", 1)[0].split(".")
    return ".".join(parts[:2] if parts[0] == "spec" else parts[:1])


def _with_credentials(doc: Document, found: list[SpecIssue]) -> list[SpecIssue]:
    """Issues for every string shaped like a credential, anywhere in the document. A kind's
    own word on a secret at that place is the more precise and stays; any other issue there
    (a pattern the value breaks) is less important than the leak and gives way to it."""
    found_at = (issue_at(doc, leak.path, leak.message) for leak in credential_issues(doc.body))
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
    if is_composition(doc.kind):
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
            out.append((doc, issue_at(doc, ("metadata",), f"{key} is also defined at {others}")))
    return out
