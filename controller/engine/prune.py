"""What is owned but no longer desired: kept as an orphan, or deleted when prune allows it;
and each stack's budget of deletes (policy.maxDeletes).

`deletes_allowed` is a run that allows deletes: an apply with --allow-deletes, never the
scheduled loop."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from controller.engine.observe import Observation
from controller.kinds.registry import reconciler_for
from controller.model import (
    TAG_DELETION_POLICY,
    Action,
    ActionType,
    FieldChange,
    Observed,
    Resource,
)
from controller.specs.policy import StackPolicy

A = ActionType


def orphans(
    desired: Mapping[str, Resource],
    obs: Observation,
    policies: Mapping[str, StackPolicy],
    deletes_allowed: bool,
) -> list[Action]:
    """An action for each owned resource no `desired` logical id names."""
    out = []
    for lid, found in sorted(obs.observed.items()):
        if lid in desired or not found.owned:
            continue
        why = _kept_because(found, obs, policies, deletes_allowed)
        base = Action(A.ORPHAN, found.kind, lid, physical_id=found.physical_id, reason=why)
        if not why:
            base = dataclasses.replace(
                base,
                type=A.DELETE,
                reason="left the spec; prune is on",
                changes=(FieldChange("(resource)", found.physical_id, None),),
            )
        out.append(base)
    return out


def _kept_because(
    found: Observed,
    obs: Observation,
    policies: Mapping[str, StackPolicy],
    deletes_allowed: bool,
) -> str:
    """Why a resource that left the spec is kept, or "" when prune may delete it."""
    if found.tags.get(TAG_DELETION_POLICY) == "Retain":
        return "left the spec; kept: deletionPolicy Retain"
    if not policies.get(found.stack, StackPolicy()).prune:
        return "left the spec; kept: policy.prune is off"
    if reconciler_for(found.kind).descriptor.stateful and not deletes_allowed:
        return (
            "left the spec; kept: it holds data, so it is deleted only by a run that "
            "allows it (apply --allow-deletes), never by the scheduled loop"
        )
    blind = sorted(kind for region, kind in obs.failed if region == found.region)
    if blind:
        # Prune needs the whole picture: what still uses this may be in the unread kind.
        return f"left the spec; not pruned this run: {', '.join(blind)} could not be observed"
    return ""


def within_delete_budget(
    actions: list[Action], policies: Mapping[str, StackPolicy], deletes_allowed: bool
) -> list[Action]:
    """More deletes than policy.maxDeletes in a stack: refuse them all unless allowed."""
    if deletes_allowed:
        return actions
    over: dict[str, int] = {}
    for stack in {a.stack for a in actions}:
        n = sum(1 for a in actions if a.stack == stack and a.type in (A.DELETE, A.REPLACE))
        if n > policies.get(stack, StackPolicy()).max_deletes:
            over[stack] = n
    if not over:
        return actions
    return [
        dataclasses.replace(
            a,
            type=A.BLOCKED,
            reason=(
                f"refused: {over[a.stack]} deletes exceed policy.maxDeletes "
                f"({policies.get(a.stack, StackPolicy()).max_deletes}); apply with --allow-deletes"
            ),
        )
        if a.stack in over and a.type in (A.DELETE, A.REPLACE)
        else a
        for a in actions
    ]
