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
from controller.engine.twins import Twins, hold_links, keep_in_use
from controller.kinds.diff import diff
from controller.kinds.fields import rules_for
from controller.kinds.registry import reconciler_for
from controller.model import (
    COMMIT,
    DRIFT,
    FOLLOWS,
    TAG_DELETION_POLICY,
    Action,
    ActionType,
    Diff,
    FieldChange,
    Observed,
    Resource,
    contains_unknown,
)
from controller.specs.policy import StackPolicy
from controller.state.drift import DriftRecord, held_back
from controller.state.store import Store

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


class StateView:
    """What the plan needs from the state; the store or a stand-in for tests."""

    def pending_creates(self, stack: str) -> Mapping[str, str]:
        return {}

    def drift_streak(self, stack: str, logical_id: str) -> tuple[int, list[str]]:
        return 0, []

    def drift(self, stack: str, logical_id: str) -> DriftRecord:
        streak, fields = self.drift_streak(stack, logical_id)
        return DriftRecord(streak, fields)

    def resources(self, stack: str | None = None) -> list[dict[str, Any]]:
        """The recorded resource rows (`logicalId`, `physicalId`, `status`, ...)."""
        return []


class StoreState(StateView):
    """The plan's reads of the state's stores."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def pending_creates(self, stack: str) -> Mapping[str, str]:
        return self.store.journal.pending(stack)

    def drift(self, stack: str, logical_id: str) -> DriftRecord:
        return self.store.drift.get(stack, logical_id)

    def resources(self, stack: str | None = None) -> list[dict[str, Any]]:
        return self.store.resources.rows(stack)


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
    actions += planner.orphans()
    actions = hold_links(_enforce_delete_budget(actions, policies, options), twins)
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
            return self._replace(resolved, base, live, stateful)
        return dataclasses.replace(base, type=A.UPDATE)

    def _replace(
        self, res: Resource, base: Action, live: tuple[FieldChange, ...], stateful: bool
    ) -> Action:
        """A replace destroys the resource; one that holds data needs the spec's consent
        (deletionPolicy Delete) as well as the run's (--allow-replace)."""
        fields_txt = ", ".join(c.path for c in live if c.immutable)
        why = f"{fields_txt} cannot change in place"
        if stateful and res.deletion_policy == "Retain":
            return dataclasses.replace(
                base,
                type=A.BLOCKED,
                reason=(
                    f"replace refused: {why}, and replacing it destroys the data it holds; "
                    "its deletionPolicy is Retain: set deletionPolicy: Delete in its section "
                    "and rerun with --allow-replace to destroy and recreate it"
                ),
            )
        if not self.options.allow_replace:
            what = "stateful resource (deletionPolicy Delete)" if stateful else "resource"
            return dataclasses.replace(
                base,
                type=A.BLOCKED,
                reason=(
                    f"replace refused: {why} and the {what} would be destroyed and "
                    "recreated; rerun with --allow-replace to allow it"
                ),
            )
        if stateful:
            why += "; its data is destroyed with it (deletionPolicy Delete, --allow-replace)"
        return dataclasses.replace(base, type=A.REPLACE, reason=why)

    def orphans(self) -> list[Action]:
        out = []
        for lid, found in sorted(self.obs.observed.items()):
            if lid in self.graph.nodes or not found.owned:
                continue
            base = Action(
                A.ORPHAN,
                found.kind,
                lid,
                physical_id=found.physical_id,
                reason=self._orphan_reason(found),
            )
            if not base.reason:
                base = dataclasses.replace(
                    base,
                    type=A.DELETE,
                    reason="left the spec; prune is on",
                    changes=(FieldChange("(resource)", found.physical_id, None),),
                )
            out.append(base)
        return out

    def _orphan_reason(self, found: Observed) -> str:
        """Why a resource that left the spec is kept, or "" when prune may delete it."""
        if found.tags.get(TAG_DELETION_POLICY) == "Retain":
            return "left the spec; kept: deletionPolicy Retain"
        if not self.policies.get(found.stack, StackPolicy()).prune:
            return "left the spec; kept: policy.prune is off"
        if reconciler_for(found.kind).descriptor.stateful and (
            self.options.scheduled or not self.options.allow_deletes
        ):
            return (
                "left the spec; kept: it holds data, so it is deleted only by a run that "
                "allows it (apply --allow-deletes), never by the scheduled loop"
            )
        blind = sorted(kind for region, kind in self.obs.failed if region == found.region)
        if blind:
            # Prune needs the whole picture: what still uses this may be in the unread kind.
            return f"left the spec; not pruned this run: {', '.join(blind)} could not be observed"
        return ""


def creation_changes(res: Resource) -> tuple[FieldChange, ...]:
    rules = rules_for(res.kind)
    out = [
        FieldChange(key, None, value, sensitive=rules.masks(key)) for key, value in res.spec.items()
    ]
    out.append(FieldChange("tags", None, res.ownership_tags()))
    return tuple(out)


def _enforce_delete_budget(
    actions: list[Action], policies: Mapping[str, StackPolicy], options: PlanOptions
) -> list[Action]:
    """More deletes than policy.maxDeletes in a stack: refuse them all unless allowed."""
    if options.allow_deletes and not options.scheduled:
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
