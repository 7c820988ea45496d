"""plumb's policy as IAM takes it: managed policies under IAM's size limit, and the
permissions boundary for the roles plumb creates."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from controller.errors import PlumbError
from controller.kinds.iam_policy import VERSION

if TYPE_CHECKING:
    from controller.kinds.base import BaseReconciler

# A customer managed policy holds at most 6,144 characters, whitespace not counted.
MANAGED_LIMIT = 6144


def size(document: dict[str, Any]) -> int:
    """The size IAM counts: the compact JSON without its whitespace."""
    return len(re.sub(r"\s", "", compact(document)))


def compact(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def managed_policies(document: dict[str, Any], limit: int = MANAGED_LIMIT) -> list[dict[str, Any]]:
    """`document` cut into as few policies as fit, in order, each under `limit`: IAM allows
    every call any of them allows, so attaching them all grants what the whole grants."""
    out: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    for statement in _fitting(document["Statement"], limit):
        if current and size(_doc([*current, statement])) > limit:
            out.append(_doc(current))
            current = []
        current.append(statement)
    if current:
        out.append(_doc(current))
    return out


def _fitting(statements: Sequence[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Statements each small enough for a policy of its own; a larger one is halved by
    its actions (the same resources and condition), a Sid each."""
    out: list[dict[str, Any]] = []
    for statement in statements:
        actions = statement["Action"]
        if size(_doc([statement])) <= limit:
            out.append(statement)
        elif isinstance(actions, list) and len(actions) > 1:
            half = len(actions) // 2
            parts = [{**statement, "Action": part} for part in (actions[:half], actions[half:])]
            for n, part in enumerate(parts, 1):
                part["Sid"] = f"{statement['Sid']}Part{n}"
            out.extend(_fitting(parts, limit))
        else:
            raise PlumbError(
                f"statement {statement['Sid']} alone exceeds IAM's {limit} characters: "
                "scope the policy with --specs or --kind"
            )
    return out


def _doc(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": statements}


def boundary(kinds: Sequence[type[BaseReconciler]]) -> dict[str, Any]:
    """The most any role plumb creates may be allowed: what the kinds' `role_boundary`
    lists. Each role's own policies name its resources; the boundary only caps them, so a
    role given more by plumb's credentials still cannot use it."""
    actions = sorted({a for kind in kinds for a in kind.descriptor.iam.role_boundary})
    if not actions:
        raise PlumbError("none of these kinds makes roles: there is no boundary to print")
    return _doc(
        [{"Sid": "RolesPlumbMakesAtMost", "Effect": "Allow", "Action": actions, "Resource": "*"}]
    )
