"""The guardrails made again as a plan is built, against the account plumb acts in.

`plumb validate` knows a stack's account only from the ARNs its spec names; a plan knows it
from STS. A trust policy naming an account the spec calls its own, in a stack applied to
another account, grants that account a role here: each finding blocks its resource's action
(nothing is written for it) and is a plan error naming the resource.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping

from controller.kinds import registry
from controller.model import Action, ActionType, Resource
from controller.specs.guardrails import guardrail_findings
from controller.specs.policy import StackPolicy

# Taking the resource away is never a grant.
_STILL_ALLOWED = frozenset({ActionType.DELETE, ActionType.ORPHAN})


def hold_refused_grants(
    actions: list[Action],
    resources: Iterable[Resource],
    policies: Mapping[str, StackPolicy],
    account_id: Callable[[], str],
    today: dt.date,
) -> tuple[list[Action], list[str]]:
    """The actions, those on a resource a guardrail refuses blocked; and one error each."""
    registry.load_all()
    everything = list(resources)
    if not any(r.kind in registry.GUARDRAILS for r in everything):
        return actions, []  # nothing to ask AWS about
    found = guardrail_findings(everything, policies, today, account=account_id() or None)
    reasons: dict[str, list[str]] = {}
    for finding in found:
        reasons.setdefault(finding.logical_id, []).append(finding.message)
    held = [
        dataclasses.replace(a, type=ActionType.BLOCKED, reason="; ".join(reasons[a.logical_id]))
        if a.logical_id in reasons and a.type not in _STILL_ALLOWED
        else a
        for a in actions
    ]
    return held, [f.message for f in found]
