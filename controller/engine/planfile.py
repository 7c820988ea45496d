"""Saved plans: what was reviewed is what gets applied, or nothing is.

A saved plan carries the desired resources (with their references unresolved), the stack
policies, the options and a fingerprint of every action. Applying it re-observes AWS and
rebuilds the plan from the saved resources; if any action differs from what was reviewed,
the observations went stale and the plan is refused.

The seal over the whole file is a plain sha256 without a plan key, which anyone who can
edit the file can recompute: it shows an accident, not an edit. With a key (PLUMB_PLAN_KEY,
--plan-key-file, else the audit key) it is an HMAC-SHA256 that no one without the key can
forge, and a plan sealed otherwise is refused. The file says which seal it carries
(`sealAlgorithm`, itself under the seal).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from controller.chain import KEYED, PLAIN, SEALS
from controller.engine.plan import Plan, PlanOptions
from controller.errors import PlanError
from controller.model import Action, Resource, SourceLoc
from controller.output_file import write_output
from controller.specs.policy import StackPolicy

FORMAT = "plumb-plan/1"


def fingerprint(actions: Iterable[Action]) -> str:
    body = sorted((a.to_json() for a in actions), key=lambda a: a["logicalId"])
    for a in body:
        a.pop("warnings", None)  # a note is not a change
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def plan_to_json(plan: Plan, commit: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "createdAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": dict(commit or {}),
        "options": {
            "allowReplace": plan.options.allow_replace,
            "allowDeletes": plan.options.allow_deletes,
        },
        "policies": {s: p.to_json() for s, p in sorted(plan.policies.items())},
        "resources": [_resource_json(r) for r in plan.resources.values()],
        "actions": [a.to_json() for a in plan.actions],
        "counts": plan.counts(),
        "errors": plan.errors,
        "fingerprint": fingerprint(plan.actions),
    }


def plan_key(given: bytes | None, audit_key: bytes | None) -> bytes | None:
    """The key plans are sealed with: the --plan-key-file's, else PLUMB_PLAN_KEY, else the
    audit key (already read from --audit-key-file or PLUMB_AUDIT_KEY)."""
    return given or os.environ.get("PLUMB_PLAN_KEY", "").encode("utf-8") or audit_key


def sealed(data: Mapping[str, Any], key: bytes | None = None) -> dict[str, Any]:
    """The plan with a seal over all of it: an edit anywhere breaks the seal. With a key the
    seal is an HMAC, which only a holder of the key can make."""
    body = {**data, "sealAlgorithm": KEYED if key else PLAIN}
    return {**body, "seal": _seal(body, key)}


def _seal(data: Mapping[str, Any], key: bytes | None = None) -> str:
    # The run's own figures, added beside a printed plan, are not part of what was reviewed.
    body = {k: v for k, v in data.items() if k not in ("seal", "apiCalls", "runId")}
    message = json.dumps(body, sort_keys=True, default=str).encode()
    if not key:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def save(
    plan: Plan,
    path: str | Path,
    commit: Mapping[str, Any] | None = None,
    key: bytes | None = None,
) -> None:
    data = sealed(json.loads(json.dumps(plan_to_json(plan, commit), default=str)), key)
    write_output(path, json.dumps(data, indent=2) + "\n")


class SavedPlan:
    def __init__(self, data: Mapping[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise PlanError(f"not a plumb plan (format {data.get('format')!r}, expected {FORMAT})")
        self.data = data
        self.resources = [resource_from(r) for r in data["resources"]]
        self.policies = {s: StackPolicy.from_spec(p) for s, p in data["policies"].items()}
        self.options = PlanOptions(
            allow_replace=bool(data["options"]["allowReplace"]),
            allow_deletes=bool(data["options"]["allowDeletes"]),
        )
        self.fingerprint = str(data["fingerprint"])
        self.commit = dict(data.get("commit") or {})
        self.stacks = sorted({r.stack for r in self.resources} | set(self.policies))

    def check_fresh(self, fresh: Plan) -> None:
        if fingerprint(fresh.actions) == self.fingerprint:
            return
        saved = {a["logicalId"]: a for a in self.data["actions"]}
        now = {a.logical_id: a.to_json() for a in fresh.actions}
        drifted = sorted(
            lid for lid in set(saved) | set(now) if _strip(saved.get(lid)) != _strip(now.get(lid))
        )
        raise PlanError(
            "the saved plan is stale: AWS changed since it was made, for "
            + ", ".join(drifted[:10])
            + ("…" if len(drifted) > 10 else "")
            + ". Make a new plan and review it."
        )


MAKE = "make one with `plumb plan -o FILE`"


def load(path: str | Path, key: bytes | None = None) -> SavedPlan:
    """A saved plan, checked: readable, a plumb plan, and exactly as plumb wrote it."""
    return parse(read(path, key), path)


def read(path: str | Path, key: bytes | None = None) -> dict[str, Any]:
    """The plan file's data once its seal holds: under `key` when one is given."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as err:
        raise PlanError(f"cannot read the plan file {path}: {err.strerror or err}") from None
    except ValueError:
        raise PlanError(f"{path} is not a plumb plan file (not JSON); {MAKE}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PlanError(f"{path} is not a plumb plan file (no format {FORMAT}); {MAKE}")
    if "seal" not in data:
        raise PlanError(f"{path} has no seal, so plumb cannot tell it is unchanged; {MAKE}")
    _check_seal(data, path, key)
    return data


def _check_seal(data: Mapping[str, Any], path: str | Path, key: bytes | None) -> None:
    algorithm = data.get("sealAlgorithm", PLAIN)  # plans from before keys are plain
    if algorithm == KEYED and not key:
        raise PlanError(
            f"the plan file {path} is sealed with a plan key; give the key it was made with "
            "(PLUMB_PLAN_KEY, --plan-key-file, or the audit key) to apply it"
        )
    if algorithm == PLAIN and key:
        raise PlanError(
            f"the plan file {path} is not sealed with the plan key, so anyone could have "
            "written it; nothing was applied: make a new plan with the key given "
            "(`plumb plan -o FILE`)"
        )
    seal = data["seal"]
    expected = _seal(json.loads(json.dumps(data)), key)
    # Constant time: a keyed seal compared byte by byte would leak how much of it matched.
    if algorithm not in SEALS or not (
        isinstance(seal, str) and seal.isascii() and hmac.compare_digest(seal, expected)
    ):
        raise PlanError(
            f"the plan file {path} was altered after plumb wrote it (its seal does not "
            f"match{', or the key is not the one it was made with' if key else ''}); "
            f"nothing was applied: {MAKE} and review it again"
        )


def parse(data: Mapping[str, Any], path: str | Path) -> SavedPlan:
    try:
        return SavedPlan(data)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise PlanError(f"{path} is not a complete plumb plan ({err}); {MAKE}") from None


def _strip(action: Mapping[str, Any] | None) -> Any:
    if action is None:
        return None
    return {k: v for k, v in action.items() if k != "warnings"}


def _resource_json(res: Resource) -> dict[str, Any]:
    return {
        "kind": res.kind,
        "logicalId": res.logical_id,
        "region": res.region,
        "spec": res.spec,
        "tags": dict(res.tags),
        "deletionPolicy": res.deletion_policy,
        "source": str(res.source) if res.source else "",
        "warnings": list(res.warnings),
        "after": list(res.after),
        "expects": dict(res.expects),
    }


def resource_from(data: Mapping[str, Any]) -> Resource:
    src = str(data.get("source") or "")
    loc = None
    if src:
        file, _, rest = src.partition(":")
        line, _, col = rest.partition(":")
        loc = SourceLoc(file, int(line or 0), int(col or 0))
    return Resource(
        kind=data["kind"],
        logical_id=data["logicalId"],
        spec=data["spec"],
        region=data["region"],
        tags=data.get("tags") or {},
        deletion_policy=data.get("deletionPolicy", "Delete"),
        source=loc,
        warnings=tuple(data.get("warnings") or ()),
        after=tuple(data.get("after") or ()),
        expects=data.get("expects") or {},
    )
