"""The values that flow through plumb: desired resources, observations, diffs and actions.

Everything here is a frozen value, so a plan can be saved, reloaded and compared, and
threads in the apply pool can share them without locks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DRIFT, COMMIT, FOLLOWS = "drift", "commit", "follows"  # Action.origin


class _Unknown:
    """A value that only AWS can tell, after the resource it comes from exists."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
SENSITIVE = "(sensitive)"


def contains_unknown(value: Any) -> bool:
    """True when `value` is, or holds anywhere inside it, an UNKNOWN."""
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(v) for v in value)
    return False


# Tags every resource plumb creates carries; they are how plumb finds what it owns.
TAG_STACK = "plumb:stack"
TAG_ID = "plumb:id"
# Set on resources whose deletion policy is Retain, so prune honours it even after the
# section has left the spec and the state is gone.
TAG_DELETION_POLICY = "plumb:deletion-policy"


@dataclass(frozen=True)
class SourceLoc:
    """Where a resource came from in git, so errors and reports can point at it."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Resource:
    """One desired resource, as the expanded spec asks for it.

    `spec` holds camelCase fields; a value may be a reference
    (`{"ref": "network/vpc", "attr": "id"}`) or a join of strings and references
    (`{"join": ["arn:aws:...:", {"ref": "aws:account", "attr": "id"}]}`) until the
    graph resolves it.
    """

    kind: str
    logical_id: str  # "acme-prod/network/vpc"
    spec: Mapping[str, Any]
    region: str
    tags: Mapping[str, str] = field(default_factory=dict)
    deletion_policy: str = "Delete"  # "Retain" keeps it when it leaves the spec
    source: SourceLoc | None = None
    warnings: tuple[str, ...] = ()
    # A kind that runs on the stack but is not visible to the plan (e.g. a secret that
    # needs a value) carries its notes in `warnings`.
    # Resources (relative ids) that must exist first though no field refers to them: an
    # ECS service needs its target group attached to a listener before it can register.
    after: tuple[str, ...] = ()
    # Facts the plan checks but plumb never writes (an image tag the repository should
    # hold): its kind reports each one that does not hold as a warning.
    expects: Mapping[str, Any] = field(default_factory=dict)

    @property
    def stack(self) -> str:
        return self.logical_id.split("/", 1)[0]

    @property
    def name(self) -> str:
        """The logical id without its stack: "network/vpc"."""
        return self.logical_id.split("/", 1)[1]

    def ownership_tags(self) -> dict[str, str]:
        tags = {**self.tags, TAG_STACK: self.stack, TAG_ID: self.logical_id}
        if self.deletion_policy == "Retain":
            tags[TAG_DELETION_POLICY] = "Retain"
        return tags

    def spec_hash(self) -> str:
        """What the spec asks for, as a hash: the state keeps the one plumb last converged
        to, so a difference under a new hash is what a commit asks for, not drift."""
        body = {"kind": self.kind, "spec": self.spec, "tags": self.ownership_tags()}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()

    def with_spec(self, spec: Mapping[str, Any]) -> Resource:
        return Resource(
            kind=self.kind,
            logical_id=self.logical_id,
            spec=spec,
            region=self.region,
            tags=self.tags,
            deletion_policy=self.deletion_policy,
            source=self.source,
            warnings=self.warnings,
            after=self.after,
            expects=self.expects,
        )


@dataclass(frozen=True)
class Observed:
    """What AWS holds for one resource, projected onto the spec's shape.

    `spec` uses the same field names as `Resource.spec` so the two can be diffed;
    `attrs` carries what other resources may reference (`id`, `arn`, `name`, ...).
    `owned` is False when something of the same name exists without this stack's
    ownership tags: plumb never takes it over.
    """

    kind: str
    logical_id: str
    physical_id: str
    spec: Mapping[str, Any]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    owned: bool = True
    ready: bool = True
    region: str = ""
    warnings: tuple[str, ...] = ()
    # Other resources carrying the same `plumb:id` (a create whose answer was lost and was
    # sent again): the plan keeps the one in use and moves no link (controller/engine/twins.py).
    alternates: tuple[Observed, ...] = ()

    @property
    def stack(self) -> str:
        return self.tags.get(TAG_STACK) or self.logical_id.split("/", 1)[0]


@dataclass(frozen=True)
class FieldChange:
    """One field that differs; `path` is dotted from the spec root ("lifecycle.expireAfterDays")."""

    path: str
    before: Any
    after: Any
    immutable: bool = False
    sensitive: bool = False
    unordered: bool = False  # a set (the schema says so): shown as members added and removed

    def to_json(self) -> dict[str, Any]:
        out = {
            "path": self.path,
            "before": SENSITIVE if self.sensitive else _jsonable(self.before),
            "after": SENSITIVE if self.sensitive else _jsonable(self.after),
            "immutable": self.immutable,
        }
        if self.unordered:
            out["unordered"] = True
        return out


@dataclass(frozen=True)
class Diff:
    changes: tuple[FieldChange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changes)

    @property
    def paths(self) -> list[str]:
        return [c.path for c in self.changes]

    def changed(self, field_name: str) -> bool:
        """True when `field_name` or anything under it differs."""
        prefix = field_name + "."
        return any(c.path == field_name or c.path.startswith(prefix) for c in self.changes)

    @property
    def needs_replace(self) -> bool:
        return any(c.immutable for c in self.changes)


class ActionType(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "noop"
    ORPHAN = "orphan"  # left the spec; kept because prune is off or it is retained
    BLOCKED = "blocked"  # cannot proceed: not owned, replace refused, waiver, ...
    UNKNOWN = "unknown"  # its kind could not be observed this run

    @property
    def mutates(self) -> bool:
        return self in (ActionType.CREATE, ActionType.UPDATE, ActionType.REPLACE, ActionType.DELETE)


# One symbol per action, the same in the terminal plan and in every report.
SYMBOLS = {
    "create": "+",
    "update": "~",
    "replace": "-/+",
    "delete": "-",
    "noop": "·",
    "orphan": "=",
    "blocked": "!",
    "unknown": "?",
}


@dataclass(frozen=True)
class Action:
    type: ActionType
    kind: str
    logical_id: str
    changes: tuple[FieldChange, ...] = ()
    reason: str = ""
    warnings: tuple[str, ...] = ()
    waived: tuple[FieldChange, ...] = ()  # drift covered by an unexpired ignoreDrift waiver
    physical_id: str = ""
    depends_on: tuple[str, ...] = ()
    # Where a difference comes from: DRIFT when the spec is the one plumb last converged
    # the resource to (so AWS was changed), COMMIT when the spec changed since, FOLLOWS when
    # every changed field takes a value a dependency gets in this plan (a new task definition
    # revision for the service), "" when plumb has no record of converging it. COMMIT and
    # FOLLOWS are asked for: kept out of the drift found and the revert count.
    origin: str = ""

    @property
    def requested(self) -> bool:
        return self.origin in (COMMIT, FOLLOWS)

    def explanation(self) -> str:
        """The reason; for an update, which needs none, where its difference comes from
        when that is not the spec (drift, or a dependency's change)."""
        if self.reason or not self.changes:
            return self.reason
        if self.origin == DRIFT:
            return "changed outside plumb since it last converged"
        if self.origin == FOLLOWS:
            return "follows a change of what it refers to"
        return ""

    @property
    def stack(self) -> str:
        return self.logical_id.split("/", 1)[0]

    def name(self) -> str:
        """The logical id without its stack: "network/vpc"."""
        return self.logical_id.split("/", 1)[-1]

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "kind": self.kind,
            "logicalId": self.logical_id,
            "physicalId": self.physical_id,
            "changes": [c.to_json() for c in self.changes],
            "waived": [c.to_json() for c in self.waived],
            "reason": self.reason,
            "warnings": list(self.warnings),
            "dependsOn": list(self.depends_on),
        }


def _jsonable(value: Any) -> Any:
    if value is UNKNOWN:
        return repr(UNKNOWN)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
