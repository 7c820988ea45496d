"""What a saved plan must pass before `apply --plan` acts on it: the checks its resources
passed as specs, made again.

A plan file is data: whoever can write it can edit it, and without a plan key can seal the
edit again (controller/engine/planfile.py). So what it asks for is checked as plumb checks a spec
before it plans it against AWS: each resource's kind is a registered one, its logical id
well formed and its fields of the shapes plumb writes; its spec passes the kind's JSON
Schema (a reference or join stands where a string goes, as an expansion leaves them) and
refers only to resources of its stack; no string anywhere is shaped like a credential; each
stack has a policy of the policy's shape whose waivers name its resources; and the
guardrails hold. Nothing here names a kind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path as FsPath
from typing import Any

from jsonschema import Draft202012Validator

from controller.engine import planfile
from controller.engine.graph import ACCOUNT, absolute, is_join, is_ref
from controller.errors import PlanError
from controller.kinds import registry
from controller.kinds.document import dotted
from controller.kinds.schemas import document_validator, schema_registry
from controller.specs.credentials import credential_issues, credential_shape
from controller.specs.guardrails import exception_problems, guardrail_findings
from controller.specs.messages import explain
from controller.specs.policy import StackPolicy
from controller.specs.validate import API_VERSION, references
from controller.words import counted

MAX_SHOWN = 20  # a forged plan may break thousands of rules; the first ones say enough
# stack/section/name: the stack is {product}-{env}; a secret's name may hold more slashes.
_LOGICAL_ID = re.compile(r"^[a-z][a-z0-9-]{1,40}/[a-z0-9][a-z0-9-]*(/[A-Za-z0-9_+=.@-]+)+$")
_STACK = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
MASK = "<key that looks like a credential>"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENTRY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "logicalId", "region", "spec"],
    "properties": {
        "kind": {"type": "string"},
        "logicalId": {"type": "string"},
        "region": {"$ref": "environment.json#/$defs/region"},
        "spec": {"type": "object"},
        "tags": {"$ref": "environment.json#/$defs/tags"},
        "deletionPolicy": {"enum": ["Retain", "Delete"]},
        "source": {"type": "string"},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "after": {"type": "array", "items": {"type": "string"}},
        "expects": {"type": "object"},
    },
}
_POLICY = {"$ref": "environment.json#/$defs/policy"}


def load_checked(path: str | FsPath, key: bytes | None = None) -> planfile.SavedPlan:
    """The saved plan at `path`, sealed as it should be and asking for nothing a spec may
    not: PlanError naming each problem otherwise."""
    data = planfile.read(path, key)
    check(data, path)
    return planfile.parse(data, path)


def check(data: Mapping[str, Any], path: str | FsPath) -> None:
    found = issues(data)
    if not found:
        return
    lines = [f"{path}: {line}" for line in found[:MAX_SHOWN]]
    if len(found) > MAX_SHOWN:
        lines.append(f"{path}: {counted(len(found) - MAX_SHOWN, 'more problem')} not shown")
    raise PlanError(
        f"the plan file {path} asks for what plumb refuses in a spec; nothing was applied: "
        "make a new plan from reviewed specs (`plumb plan -o FILE`)\n" + "\n".join(lines)
    )


def issues(data: Mapping[str, Any]) -> list[str]:
    """One line per problem, `LOGICAL-ID: FIELD: message`, in the plan's order."""
    resources, policies = data.get("resources"), data.get("policies")
    if not isinstance(resources, list) or not isinstance(policies, dict):
        return ["resources: the plan has no list of resources and map of policies"]
    registry.load_all()
    named = [(_label(i, e), e) for i, e in enumerate(resources)]
    out = [line for label, entry in named for line in _entry_issues(label, entry)]
    placed = [(str(e["logicalId"]), e) for _, e in named if _well_formed(e)]
    ids = [lid for lid, _ in placed]
    out += [f"{lid}: logicalId: is in the plan twice" for lid, n in Counter(ids).items() if n > 1]
    for lid, entry in placed:
        if isinstance(entry.get("spec"), dict):
            out += _reference_issues(lid, entry, set(ids))
    out += _stack_issues(ids, policies)
    if not out:  # the guardrails read resources and policies of sound shape
        out += _guardrail_issues(resources, policies)
    return [_printable(line) for line in out]


def _well_formed(entry: Any) -> bool:
    lid = entry.get("logicalId") if isinstance(entry, dict) else None
    return isinstance(lid, str) and bool(_LOGICAL_ID.match(lid)) and not credential_shape(lid)


def _label(index: int, entry: Any) -> str:
    """The resource's logical id when it is one (and holds no credential), else its place."""
    return str(entry["logicalId"]) if _well_formed(entry) else f"resources[{index}]"


def _entry_issues(label: str, entry: Any) -> Iterator[str]:
    if not isinstance(entry, dict):
        yield f"{label}: is not a resource as plumb writes one"
        return
    shape = Draft202012Validator(_ENTRY, registry=schema_registry())
    for error in shape.iter_errors(entry):
        for path, message in explain(error):
            yield f"{label}: {_where(path) or '(resource)'}: {message}"
    lid = entry.get("logicalId")
    if isinstance(lid, str) and not _LOGICAL_ID.match(lid):
        yield (
            f"{label}: logicalId: is not a logical id (stack/section/name in lowercase "
            "letters, digits and hyphens)"
        )
    kind = entry.get("kind")
    if isinstance(kind, str) and kind not in registry.REGISTRY:
        known = ", ".join(sorted(registry.REGISTRY))
        yield f"{label}: kind: is not a kind plumb manages (known kinds: {known})"
    elif isinstance(kind, str) and isinstance(entry.get("spec"), dict):
        yield from _spec_issues(label, kind, entry["spec"])
    for path, message in credential_issues(entry):
        yield f"{label}: {_where(path)}: {message}"


def _spec_issues(label: str, kind: str, spec: Mapping[str, Any]) -> Iterator[str]:
    """The kind's JSON Schema, through the envelope a spec written directly has."""
    body = {"apiVersion": API_VERSION, "kind": kind, "metadata": {}, "spec": _joined(spec)}
    for error in document_validator(kind).iter_errors(body):
        if tuple(error.absolute_path)[:1] != ("spec",) or _stands_for_a_string(error):
            continue
        for path, message in explain(error):
            yield f"{label}: {_where(path)}: {message}"


def _stands_for_a_string(error: Any) -> bool:
    """A reference, or a join with one, where the schema wants a string: the plan resolves
    it to the attribute of a resource of the stack, which the reference check names."""
    wanted = (
        error.validator_value
        if isinstance(error.validator_value, list)
        else [error.validator_value]
    )
    instance = error.instance
    return (
        error.validator == "type" and "string" in wanted and (is_ref(instance) or is_join(instance))
    )


def _joined(value: Any) -> Any:
    """The value with each join of literals alone as the string it makes, so the schema
    checks what AWS will be sent."""
    parts = value["join"] if is_join(value) else None
    if isinstance(parts, list) and all(isinstance(part, str) for part in parts):
        return "".join(parts)
    if isinstance(value, Mapping):
        return {key: _joined(sub) for key, sub in value.items()}
    if isinstance(value, list):
        return [_joined(sub) for sub in value]
    return value


def _reference_issues(label: str, entry: Mapping[str, Any], ids: set[str]) -> Iterator[str]:
    stack = label.split("/", 1)[0]
    for path, target in references(entry["spec"]):
        if target == ACCOUNT or (isinstance(target, str) and absolute(stack, target) in ids):
            continue
        yield f"{label}: {_where(('spec', *path))}: refers to no resource of stack {stack}"
    for index, name in enumerate(entry.get("after") or ()):
        if not isinstance(name, str) or absolute(stack, name) not in ids:
            yield f"{label}: after[{index}]: names no resource of stack {stack}"


def _stack_issues(ids: list[str], policies: Mapping[str, Any]) -> Iterator[str]:
    stacks = {lid.split("/", 1)[0] for lid in ids}
    for lid in ids:
        if lid.split("/", 1)[0] not in policies:
            yield f"{lid}: logicalId: its stack has no policy in the plan"
    shape = Draft202012Validator(_POLICY, registry=schema_registry())
    for stack, policy in policies.items():
        where = f"policies.{stack}" if _STACK.match(str(stack)) else "policies"
        if where == "policies" or stack not in stacks:
            yield f"{where}: is not the policy of a stack the plan has resources in"
            continue
        for error in shape.iter_errors(policy):
            for path, message in explain(error):
                yield f"{where}: {_where(path) or '(policy)'}: {message}"
        for path, message in credential_issues(policy):
            yield f"{where}: {_where(path)}: {message}"
        yield from _waiver_issues(where, stack, policy, ids)
        if isinstance(policy, dict):
            names = [lid.split("/", 1)[1] for lid in ids if lid.startswith(f"{stack}/")]
            for path, message in exception_problems(policy, stack, names):
                yield f"{where}: {_where(path[1:])}: {message}"  # path[0] is "policy"


def _waiver_issues(where: str, stack: str, policy: Any, ids: list[str]) -> Iterator[str]:
    waivers = policy.get("ignoreDrift") if isinstance(policy, dict) else None
    for index, waiver in enumerate(waivers if isinstance(waivers, list) else ()):
        name = waiver.get("resource") if isinstance(waiver, dict) else None
        if isinstance(name, str) and f"{stack}/{name}" not in ids:
            yield f"{where}: ignoreDrift[{index}].resource: names no resource of stack {stack}"


def _guardrail_issues(resources: list[Any], policies: Mapping[str, Any]) -> list[str]:
    """What the guardrails find, today: an exception that expired since the plan was made
    accepts nothing any more."""
    found = guardrail_findings(
        [planfile.resource_from(entry) for entry in resources],
        {stack: StackPolicy.from_spec(policy) for stack, policy in policies.items()},
    )
    out = []
    for f in found:
        said = f.message.removeprefix(f"{f.logical_id}: ")  # it begins with the logical id
        out.append(f"{f.logical_id}: {_where(('spec', *f.path))}: {said}")
    return out


def _where(path: tuple[str | int, ...]) -> str:
    """The dotted path, with a key shaped like a credential masked: the key itself leaks."""
    return dotted(tuple(MASK if credential_shape(str(p)) else p for p in path))


def _printable(line: str) -> str:
    # A forged file's keys may hold newlines or escapes: one problem stays one line. A line
    # that would quote a credential (a key named like one) is counted, not shown.
    if credential_shape(line):
        return "(a problem whose text would show what looks like a credential)"
    return _CONTROL.sub("?", line)
