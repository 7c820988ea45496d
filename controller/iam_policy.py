"""plumb's own least-privilege IAM policy, built from what the registered kinds declare.

Each kind lists the IAM actions its verbs call (`iam_actions`), the services it hands a role
to (`passes_roles_to`) and the services whose service-linked role its first create makes
(`service_linked_roles`); the engine adds the calls it makes itself (`ENGINE_ACTIONS`). The
conformance suite fails on any call it sees a kind make that its declaration does not cover
(tests/integration/test_iam_policy.py), so the list cannot quietly fall behind the code.

What is scoped, and what is not:
  - iam:PassRole is granted only towards the services the kinds name, on the condition
    iam:PassedToService: a task definition can hand its roles to ECS tasks, to nothing else.
  - iam:CreateServiceLinkedRole is granted only for the service-linked roles the kinds
    name (condition iam:AWSServiceName).
  - Everything else is on Resource "*", one statement per service. A condition on
    aws:ResourceTag/plumb:stack would not survive a create (the resource has no tags yet;
    that takes aws:RequestTag, spelled differently per service), S3 and ECR evaluate
    resource tags for few of their actions, and an adopted resource whose tags plumb has
    yet to repair would be refused. A policy that denies a call in the middle of an apply
    is worse than a broad one, and moto, which the tests run against, evaluates no
    conditions, so no test could show a scoped policy to be right. Names are not scoped
    either: specs choose them (buckets, roles, secrets), so no pattern would hold them all.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import reconcilers
from controller.context import ENGINE_ACTIONS
from controller.errors import PlumbError

if TYPE_CHECKING:
    from reconcilers.base import BaseReconciler

VERSION = "2012-10-17"
# "elasticloadbalancing:DescribeTags": a service prefix, then an action as IAM spells it.
ACTION = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]*$")
# Granted only with a condition (below), never on Resource "*" with the rest of IAM.
CONDITIONED = frozenset({"iam:PassRole", "iam:CreateServiceLinkedRole"})


def kinds_for(names: Sequence[str] = ()) -> list[type[BaseReconciler]]:
    """The registered kinds called `names`, or every one when none is named."""
    reconcilers.load_all()
    if not names:
        return [reconcilers.REGISTRY[k] for k in sorted(reconcilers.REGISTRY)]
    for name in names:
        if name not in reconcilers.REGISTRY:
            raise PlumbError(_unknown(name))
    return [reconcilers.REGISTRY[k] for k in sorted(set(names))]


def _unknown(name: str) -> str:
    if name in reconcilers.EXPANDERS:
        # An Environment makes resources of other kinds and calls AWS for none itself.
        return f"{name} is made of other kinds: leave out --kind for the policy they all need"
    known = sorted(reconcilers.REGISTRY)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"there is no kind {name!r}; {hint}the kinds are {', '.join(known)}"


def build(names: Sequence[str] = ()) -> dict[str, Any]:
    """The policy document for the kinds called `names` (every kind when none), with the
    engine's own calls: one statement per service, actions sorted, then the conditioned
    grants."""
    kinds = kinds_for(names)
    actions = set(ENGINE_ACTIONS) | {a for kind in kinds for a in kind.iam_actions}
    _check(actions)
    statements = [_service_statement(prefix, sorted(acts)) for prefix, acts in _by_service(actions)]
    passed = sorted({service for kind in kinds for service in kind.passes_roles_to})
    if passed:
        statements.append(_conditioned("PassRoles", "iam:PassRole", "iam:PassedToService", passed))
    linked = sorted({service for kind in kinds for service in kind.service_linked_roles})
    if linked:
        statements.append(
            _conditioned(
                "ServiceLinkedRoles", "iam:CreateServiceLinkedRole", "iam:AWSServiceName", linked
            )
        )
    return {"Version": VERSION, "Statement": statements}


def _check(actions: Iterable[str]) -> None:
    """A misspelt action would only show as AccessDenied in the middle of an apply."""
    bad = sorted(a for a in actions if not ACTION.match(a))
    if bad:
        raise ValueError(f"not IAM actions (service:Action): {bad}")
    loose = sorted(set(actions) & CONDITIONED)
    if loose:
        raise ValueError(f"{loose} must be declared as passes_roles_to / service_linked_roles")


def _by_service(actions: Iterable[str]) -> list[tuple[str, set[str]]]:
    grouped: dict[str, set[str]] = {}
    for action in actions:
        grouped.setdefault(action.split(":", 1)[0], set()).add(action)
    return sorted(grouped.items())


def _sid(prefix: str) -> str:
    """ "elasticloadbalancing" -> "Elasticloadbalancing": a Sid is letters and digits only."""
    return "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", prefix) if part)


def _service_statement(prefix: str, actions: list[str]) -> dict[str, Any]:
    return {"Sid": _sid(prefix), "Effect": "Allow", "Action": actions, "Resource": "*"}


def _conditioned(sid: str, action: str, key: str, values: list[str]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": action,
        "Resource": "*",
        "Condition": {"StringEquals": {key: values}},
    }
