"""plumb's own least-privilege IAM policy, assembled from what the registered kinds declare.

Each kind lists the IAM actions its verbs call (`iam_actions`) and where they apply
(`iam_scopes`, controller/kinds/iam_scope.py): ARN patterns for the names plumb derives from
the specs (buckets, roles under /plumb/, secrets, log groups, repositories, ECS, ELB,
ElastiCache and DocumentDB names), plumb's ownership tag for EC2, whose ARNs are ids. The
engine adds its own calls (`ENGINE_ACTIONS`). The conformance suite fails on any call it
sees a kind make that the policy does not grant (tests/integration/test_conformance.py).

Resource "*" is left to reads IAM cannot scope (Describe*, List*) and the writes named in
`STAR_WRITES`, each with its reason. Role writes and iam:PassRole are on roles under
/plumb/ only; with a permissions boundary, a role can be created, given a policy or a
boundary only if it names that boundary, and no boundary can be removed (a Deny), so a
leaked credential cannot make a role stronger than the boundary.

moto evaluates no conditions and no resources, so what the tests check instead is the
IAM definition data parliament ships: each scoped action supports the resource type of
its ARNs and the condition keys of its scope (tests/unit/test_iam_scopes.py).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from controller.aws.context import ENGINE_ACTIONS
from controller.errors import PlumbError
from controller.kinds import registry
from controller.kinds.iam_scope import (
    CONDITION_NAMES,
    WILDCARD,
    Scope,
    Target,
    arn,
    conditions,
    placeholders,
    render,
)

if TYPE_CHECKING:
    from controller.kinds.base import BaseReconciler

VERSION = "2012-10-17"
# "elasticloadbalancing:DescribeTags": a service prefix, then an action as IAM spells it.
ACTION = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]*$")
# Granted only with a condition, never on Resource "*".
CONDITIONED = frozenset({"iam:PassRole", "iam:CreateServiceLinkedRole"})
# With a boundary, no role of the account loses one through plumb.
BOUNDARY_DENIED = ("iam:DeleteRolePermissionsBoundary",)
SERVICE_LINKED = arn("iam", "role/aws-service-role/*", regional=False)


@dataclasses.dataclass
class _Grant:
    """Actions on resources under one condition: what becomes one or more statements."""

    condition: dict[str, Any]
    # "ec2:CreateAction" for the tag calls of creates; the creates of every kind share it.
    create_key: str = ""
    creates: set[str] = dataclasses.field(default_factory=set)
    resources: dict[str, set[str]] = dataclasses.field(default_factory=dict)  # by action

    def full_condition(self) -> dict[str, Any]:
        if not self.create_key:
            return self.condition
        equals = {**self.condition.get("StringEquals", {}), self.create_key: sorted(self.creates)}
        return dict(sorted({**self.condition, "StringEquals": equals}.items()))


Grants = dict[str, _Grant]  # by condition, as JSON


def kinds_for(names: Sequence[str] = ()) -> list[type[BaseReconciler]]:
    """The registered kinds called `names`, or every one when none is named."""
    registry.load_all()
    if not names:
        return [registry.REGISTRY[k] for k in sorted(registry.REGISTRY)]
    for name in names:
        if name not in registry.REGISTRY:
            raise PlumbError(_unknown(name))
    return [registry.REGISTRY[k] for k in sorted(set(names))]


def _unknown(name: str) -> str:
    if name in registry.EXPANDERS:
        # An Environment makes resources of other kinds and calls AWS for none itself.
        return f"{name} is made of other kinds: leave out --kind for the policy they all need"
    known = sorted(registry.REGISTRY)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"there is no kind {name!r}; {hint}the kinds are {', '.join(known)}"


def build(names: Sequence[str] = (), target: Target | None = None) -> dict[str, Any]:
    """The policy document for the kinds called `names` (every kind when none) and the
    engine's own calls, scoped to what `target` names (wildcards when None)."""
    return build_for(kinds_for(names), target or Target())


def build_for(kinds: Sequence[type[BaseReconciler]], target: Target) -> dict[str, Any]:
    for kind in kinds:
        check(kind)
    grants: Grants = {}
    star = set(ENGINE_ACTIONS)
    for kind in kinds:
        star |= _unscoped(kind)
        for scope in kind.descriptor.iam.scopes:
            _add(grants, scope, kind, target)
    statements = [*_star_statements(star), *_scoped_statements(grants)]
    linked = sorted({s for kind in kinds for s in kind.descriptor.iam.service_linked_roles})
    if linked:
        statements.append(_service_linked(linked, target))
    if target.boundary and any("bounded" in s.when for k in kinds for s in k.descriptor.iam.scopes):
        statements.append(
            {
                "Sid": "KeepBoundaries",
                "Effect": "Deny",
                "Action": list(BOUNDARY_DENIED),
                "Resource": WILDCARD,
            }
        )
    return {"Version": VERSION, "Statement": statements}


def _unscoped(kind: type[BaseReconciler]) -> set[str]:
    scoped = {a for scope in kind.descriptor.iam.scopes for a in scope.actions}
    return set(kind.descriptor.iam.actions) - scoped


def _add(grants: Grants, scope: Scope, kind: type[BaseReconciler], target: Target) -> None:
    # Tag calls of several creates share one statement: each create tags only what it makes.
    plain = dataclasses.replace(scope, create_action=())
    condition = conditions(plain, target, kind.descriptor.iam.passes_roles_to)
    prefix = scope.actions[0].split(":", 1)[0]
    create_key = f"{prefix}:CreateAction" if scope.create_action else ""
    key = json.dumps([condition, create_key], sort_keys=True)
    grant = grants.setdefault(key, _Grant(condition, create_key))
    grant.creates.update(scope.create_action)
    resources = {r for template in scope.arns for r in render(template, kind.kind, target)}
    for action in scope.actions:
        grant.resources.setdefault(action, set()).update(resources)


def check(kind: type[BaseReconciler]) -> None:
    """A misspelt action or scope would only show as AccessDenied in the middle of an apply."""
    actions = set(kind.descriptor.iam.actions)
    bad = sorted(a for a in actions if not ACTION.match(a))
    if bad:
        raise ValueError(f"{kind.kind}: not IAM actions (service:Action): {bad}")
    loose = sorted(_unscoped(kind) & CONDITIONED)
    if loose:
        raise ValueError(f"{kind.kind}: {loose} must be in a scope with its condition")
    for scope in kind.descriptor.iam.scopes:
        _check_scope(kind, scope, actions)


def _check_scope(kind: type[BaseReconciler], scope: Scope, actions: set[str]) -> None:
    undeclared = sorted(set(scope.actions) - actions)
    if undeclared:
        raise ValueError(f"{kind.kind}: scoped but not in iam_actions: {undeclared}")
    unknown = sorted(set(scope.when) - CONDITION_NAMES)
    if unknown:
        raise ValueError(f"{kind.kind}: no such condition {unknown}")
    if not scope.arns or WILDCARD in scope.arns:
        raise ValueError(f"{kind.kind}: a scope names ARNs, never '*': {scope.actions}")
    passes = "passed-to" in scope.when and kind.descriptor.iam.passes_roles_to
    if "iam:PassRole" in scope.actions and not passes:
        raise ValueError(f"{kind.kind}: iam:PassRole needs passed-to and passes_roles_to")
    for template in scope.arns:
        if not template.startswith("arn:") or "{" in re.sub(r"\{[^}]*\}", "", template):
            raise ValueError(f"{kind.kind}: not an ARN template: {template}")
        if any(
            p.startswith("name:") and p[5:] not in registry.REGISTRY
            for p in placeholders(template)
        ):
            raise ValueError(f"{kind.kind}: {template} names no registered kind")


# -- statements ---------------------------------------------------------------------------


def _by_service(actions: Iterable[str]) -> list[tuple[str, set[str]]]:
    grouped: dict[str, set[str]] = {}
    for action in actions:
        grouped.setdefault(action.split(":", 1)[0], set()).add(action)
    return sorted(grouped.items())


def _sid(prefix: str) -> str:
    """ "elasticloadbalancing" -> "Elasticloadbalancing": a Sid is letters and digits only."""
    return "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", prefix) if part)


def _star_statements(actions: set[str]) -> list[dict[str, Any]]:
    """What IAM cannot scope, one statement per service: reads, and `STAR_WRITES`."""
    return [
        {
            "Sid": f"{_sid(prefix)}Unscoped",
            "Effect": "Allow",
            "Action": sorted(acts),
            "Resource": WILDCARD,
        }
        for prefix, acts in _by_service(actions)
    ]


def _scoped_statements(grants: Grants) -> list[dict[str, Any]]:
    """One statement per service, condition and set of resources: actions that share all
    three share a statement, which keeps the policy under IAM's size limits."""
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for key in sorted(grants):
        condition = grants[key].full_condition()
        groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for action, granted_on in grants[key].resources.items():
            service = action.split(":", 1)[0]
            groups.setdefault((service, tuple(sorted(granted_on))), []).append(action)
        for (service, resources), actions in sorted(groups.items()):
            base = _sid(service) + _sid(_condition_word(condition))
            seen[base] = seen.get(base, 0) + 1
            statement: dict[str, Any] = {
                "Sid": f"{base}{seen[base]}",
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": list(resources),
            }
            if condition:
                statement["Condition"] = condition
            out.append(statement)
    return out


def _condition_word(condition: dict[str, Any]) -> str:
    if "StringLikeIfExists" in condition:
        return "retags"
    keys = " ".join(k for inner in condition.values() for k in inner)
    for word, marker in (
        ("bounded", "PermissionsBoundary"),
        ("passed", "PassedToService"),
        ("create", "CreateAction"),
        ("created", "aws:RequestTag"),
        ("owned", "aws:ResourceTag"),
        ("tags", "aws:TagKeys"),
    ):
        if marker in keys:
            return word
    return "named"


def _service_linked(services: list[str], target: Target) -> dict[str, Any]:
    return {
        "Sid": "ServiceLinkedRoles",
        "Effect": "Allow",
        "Action": "iam:CreateServiceLinkedRole",
        "Resource": render(SERVICE_LINKED, "", target),
        "Condition": {"StringEquals": {"iam:AWSServiceName": services}},
    }
