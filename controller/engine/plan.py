"""Build a plan: one action per resource, with field-level before/after and the reason.

Decisions made here, in this order for each desired resource (graph order):
  its kind could not be observed          -> unknown; its dependents are blocked
  it exists but is not ours               -> blocked (never taken over)
  it is missing                           -> create
  it differs only in waived fields        -> noop, the drift listed as waived
  it keeps reverting after repairs        -> blocked (non-converging), unless the spec
                                             changed since plumb last converged it
  an immutable field differs              -> replace, or blocked without the allowance
  otherwise a difference                  -> update
and for what is owned but no longer desired: orphan, or delete when prune allows it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.engine.grant_check import hold_refused_grants
from controller.engine.graph import Graph, resolve
from controller.engine.observe import Observation
from controller.engine.plan_state import StateView
from controller.engine.prune import orphans, within_delete_budget
from controller.engine.replace import replace_or_refuse
from controller.engine.twins import Twins, hold_links, keep_in_use
from controller.kinds.diff import diff
from controller.kinds.fields import rules_for
from controller.kinds.registry import reconciler_for
from controller.model import (
    COMMIT,
    DRIFT,
    FOLLOWS,
    Action,
    ActionType,
    Diff,
    FieldChange,
    Observed,
    Resource,
    contains_unknown,
)
from controller.specs.policy import StackPolicy
from controller.state.drift import held_back

A = ActionType


@dataclass(frozen=True)
class PlanOptions:
    allow_replace: bool = False
    allow_deletes: bool = False
    scheduled: bool = False  # the loop: self-heal policy applies, never --allow-deletes
    today: dt.date = field(default_factory=dt.date.today)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass
class Plan:
    actions: list[Action]
    resources: dict[str, Resource]
    policies: dict[str, StackPolicy]
    observation: Observation
    options: PlanOptions
    errors: list[str] = field(default_factory=list)
    # Logical ids two resources carry: (the one kept, the strays); see duplicates.py.
    twins: Twins = field(default_factory=dict)

    def by_id(self) -> dict[str, Action]:
        return {a.logical_id: a for a in self.actions}

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.type.mutates]

    def counts(self) -> dict[str, int]:
        out = {t.value: 0 for t in ActionType}
        for a in self.actions:
            out[a.type.value] += 1
        return out

    @property
    def warnings(self) -> list[str]:
        return [f"{a.logical_id}: {w}" for a in self.actions for w in a.warnings]


def build_plan(
    resources: list[Resource],
    policies: Mapping[str, StackPolicy],
    observation: Observation,
    account_id: Callable[[], str],
    state: StateView | None = None,
    options: PlanOptions | None = None,
) -> Plan:
    options = options or PlanOptions()
    state = state or StateView()
    graph = Graph(resources)
    twins = keep_in_use(observation.observed, _recorded_ids(state))
    planner = _Planner(graph, policies, observation, account_id, state, options)
    actions = [planner.decide(lid) for lid in graph.order()]
    deletes_allowed = options.allow_deletes and not options.scheduled
    actions += orphans(graph.nodes, observation, policies, deletes_allowed)
    actions = hold_links(within_delete_budget(actions, policies, deletes_allowed), twins)
    # The spec's account was a guess from its ARNs; STS says which account this is.
    actions, refused = hold_refused_grants(actions, resources, policies, account_id, options.today)
    return Plan(
        actions,
        dict(graph.nodes),
        dict(policies),
        observation,
        options,
        errors=sorted(set(observation.failed.values())) + refused,
        twins=twins,
    )


def _recorded_ids(state: StateView) -> Callable[[str], Mapping[str, str]]:
    """A stack's logical id -> the physical id the state recorded, read once per stack."""
    cache: dict[str, Mapping[str, str]] = {}

    def of(stack: str) -> Mapping[str, str]:
        if stack not in cache:
            rows = state.resources(stack)
            cache[stack] = {
                str(r["logicalId"]): str(r.get("physicalId") or "")
                for r in rows
                if r.get("status") != "deleted"
            }
        return cache[stack]

    return of


class _Planner:
    def __init__(
        self,
        graph: Graph,
        policies: Mapping[str, StackPolicy],
        observation: Observation,
        account_id: Callable[[], str],
        state: StateView,
        options: PlanOptions,
    ) -> None:
        self.graph, self.policies, self.obs = graph, policies, observation
        self.account_id, self.state, self.options = account_id, state, options
        self.decided: dict[str, Action] = {}

    def attrs_of(self, lid: str) -> Mapping[str, Any] | None:
        action = self.decided.get(lid)
        # Not decided yet happens only through a late reference: what exists now is the best
        # guess, and apply resolves again from live values before it writes.
        if action is not None and action.type in (A.CREATE, A.REPLACE):
            return None
        if (
            action is not None
            and action.type is A.UPDATE
            and reconciler_for(action.kind).update_makes_new_id(action.changes)
        ):
            return None
        found = self.obs.observed.get(lid)
        return found.attrs if found is not None and found.owned else None

    def decide(self, lid: str) -> Action:
        action = self._decide(self.graph.nodes[lid])
        self.decided[lid] = action
        return action

    def _decide(self, res: Resource) -> Action:
        rec = reconciler_for(res.kind)
        base = Action(
            A.NOOP,
            res.kind,
            res.logical_id,
            depends_on=tuple(sorted(self.graph.deps[res.logical_id])),
        )
        failed = self.obs.kind_failed(res.region, res.kind)
        if failed:
            return dataclasses.replace(base, type=A.UNKNOWN, reason=failed)
        found = self._adopt(res, self.obs.observed.get(res.logical_id))
        # What the kind saw while observing (two resources with one plumb:id, a rollout in
        # progress) is shown too, once.
        seen = tuple(found.warnings) if found is not None else ()
        warnings = tuple(dict.fromkeys((*res.warnings, *rec.warnings(res, found), *seen)))
        base = dataclasses.replace(
            base, warnings=warnings, physical_id=found.physical_id if found else ""
        )
        waiting = self._blocking_dependency(res)
        if found is not None and not found.owned:
            return dataclasses.replace(
                base,
                type=A.BLOCKED,
                reason=(
                    f"{found.physical_id} exists but is not owned by stack {res.stack} (no plumb "
                    "ownership tags); plumb never takes over what it did not create"
                ),
            )
        resolved = resolve(res, self.attrs_of, self.account_id)
        if found is None:
            action = dataclasses.replace(base, type=A.CREATE, changes=creation_changes(resolved))
        else:
            action = self._compare(resolved, found, base, rec.descriptor.stateful)
        if waiting and action.type.mutates:
            return dataclasses.replace(action, type=A.BLOCKED, reason=waiting)
        return action

    def _adopt(self, res: Resource, found: Observed | None) -> Observed | None:
        """A create that crashed before tagging left an untagged resource: the journal proves
        it is ours, so adopt it (the tags are then repaired) instead of refusing it."""
        if found is None or found.owned:
            return found
        pending = self.state.pending_creates(res.stack).get(res.logical_id)
        if pending and pending == found.physical_id:
            adopted = dataclasses.replace(found, owned=True)
            # The apply writes what the plan saw: it finishes this one with an update (its
            # tags and settings), never a second create that would meet it as a stranger's.
            self.obs.observed[res.logical_id] = adopted
            return adopted
        return found

    def _blocking_dependency(self, res: Resource) -> str:
        for dep in sorted(self.graph.deps[res.logical_id]):
            action = self.decided[dep]
            if action.type is A.UNKNOWN:
                return f"waits for {dep}, whose kind could not be observed this run"
            if action.type is A.BLOCKED and self.attrs_of(dep) is None:
                return f"waits for {dep}: {action.reason}"
        return ""

    def _compare(self, resolved: Resource, found: Observed, base: Action, stateful: bool) -> Action:
        delta = diff(resolved, found)
        policy = self.policies.get(resolved.stack, StackPolicy())
        active = [w for w in policy.waivers if w.active(self.options.today)]
        waived = tuple(c for c in delta.changes if any(w.covers(resolved.name, c) for w in active))
        live = tuple(c for c in delta.changes if c not in waived)
        base = dataclasses.replace(base, waived=waived)
        if not live:
            reason = "" if found.ready else "not ready yet"
            return dataclasses.replace(base, type=A.NOOP, reason=reason)
        record = self.state.drift(resolved.stack, resolved.logical_id)
        spec = self.graph.nodes[resolved.logical_id].spec_hash()
        if all(contains_unknown(c.after) for c in live):
            origin = FOLLOWS
        elif record.spec_hash:
            origin = DRIFT if record.spec_hash == spec else COMMIT
        else:
            origin = ""
        requested = origin == COMMIT
        base = dataclasses.replace(base, changes=live, origin=origin)
        # A new spec for a field being fought over is applied: the commit is the answer.
        paths = (c.path for c in live)
        fighting = None if requested else held_back(record, paths, self.options.now)
        if fighting:
            return dataclasses.replace(base, type=A.BLOCKED, reason=fighting)
        if self.options.scheduled and not policy.self_heal and not requested:
            return dataclasses.replace(
                base, type=A.BLOCKED, reason="drift reported, not repaired: policy.selfHeal is off"
            )
        if Diff(live).needs_replace:
            return replace_or_refuse(resolved, base, live, stateful, self.options.allow_replace)
        return dataclasses.replace(base, type=A.UPDATE)


def creation_changes(res: Resource) -> tuple[FieldChange, ...]:
    rules = rules_for(res.kind)
    out = [
        FieldChange(key, None, value, sensitive=rules.masks(key)) for key, value in res.spec.items()
    ]
    out.append(FieldChange("tags", None, res.ownership_tags()))
    return tuple(out)
