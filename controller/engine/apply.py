"""Apply a plan: waves of the graph on a thread pool, a journal before every create.

Three phases keep the graph valid, after every resource about to be deleted has released
what it holds of others (so resources that refer to each other can go in any order):
  1. the old halves of replacements are deleted, dependents first;
  2. creates, updates and the new halves of replacements run in dependency waves;
  3. resources that left the spec are deleted, dependents first (by kind order), after the
     updates that moved their users off them.
A failure stops the dependents of the failed resource, not unrelated ones. A dependency
that exists but is not ready yet leaves its dependents pending for the next run.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from controller.aws.context import Context
from controller.engine.graph import Graph, resolve, without_unknown_members
from controller.engine.holds import Hold, Holds
from controller.engine.kind_order import orphan_waves
from controller.engine.ledger import Ledger
from controller.engine.outcome import (
    APPLIED,
    FAILED,
    SKIPPED,
    UNCHANGED,
    Event,
    Outcome,
    Progress,
    recorded_as,
)
from controller.engine.plan import Plan
from controller.engine.readiness import Waiter
from controller.engine.writes import write
from controller.kinds.registry import reconciler_for
from controller.model import Action, ActionType, Observed, Resource, contains_unknown

A = ActionType


class Applier:
    def __init__(
        self,
        plan: Plan,
        contexts: Mapping[str, Context],
        journal: Ledger,
        run_id: int,
        account_id: Callable[[], str],
        workers: int = 8,
        on_event: Event | None = None,
        waiter: Waiter | None = None,
        may_write: Callable[[str], bool] = lambda stack: True,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        """`may_write(stack)` is False once the run has lost the stack's lease; `stopping()`
        True once plumb is told to stop: steps in flight end, no new one starts."""
        self.plan, self.contexts, self.journal, self.run_id = plan, contexts, journal, run_id
        self.account_id = account_id
        self.workers = max(1, workers)
        self.on_event = on_event or (lambda action, status: None)
        self.graph = Graph(plan.resources.values())
        self.actions = plan.by_id()
        owned = {lid: o for lid, o in plan.observation.observed.items() if o.owned}
        self.progress = Progress(owned)
        self.live, self.outcomes = self.progress.live, self.progress.outcomes
        self.deferred: set[str] = set()  # written without their late members; finished last
        self.holds = Holds(
            self.graph,
            self.actions,
            self.progress,
            contexts,
            waiter or Waiter(0),
            may_write,
            stopping,
        )
        self._lock = self.progress.lock

    @property
    def stopped(self) -> bool:
        """Some action was not started because plumb was told to stop."""
        return self.holds.stopped

    def run(self) -> dict[str, Outcome]:
        replaced = {lid for lid, a in self.actions.items() if a.type is A.REPLACE}
        doomed = [lid for lid, a in self.actions.items() if a.type in (A.REPLACE, A.DELETE)]
        self._run_wave(doomed, self._release)
        for wave in reversed(self.graph.waves()):
            self._run_wave([lid for lid in wave if lid in replaced], self._destroy_old)
        for wave in self.graph.waves():
            self._run_wave(wave, self._converge)
        self._run_wave(sorted(self.deferred), self._second_pass)
        for wave in orphan_waves(self.graph, self.actions.values()):
            self._run_wave(wave, self._delete_orphan)
        for lid, action in self.actions.items():
            if lid not in self.outcomes:
                self._finish(action, UNCHANGED)
        return self.outcomes

    def _run_wave(self, wave: Iterable[str], step: Callable[[Action], None]) -> None:
        todo = [self.actions[lid] for lid in wave if lid in self.actions]
        if not todo:
            return
        with cf.ThreadPoolExecutor(max_workers=self.workers) as pool:
            list(pool.map(step, todo))

    # -- steps -------------------------------------------------------------------------

    def _release(self, action: Action) -> None:
        found = self._to_touch(action)
        if found is None:
            return
        try:
            reconciler_for(action.kind).release(found, self._ctx(found.region))
        except Exception as err:  # its delete is then skipped: it may still hold others
            self._fail(action, err)

    def _destroy_old(self, action: Action) -> None:
        found = None if action.logical_id in self.outcomes else self._to_touch(action)
        if found is None:
            return
        try:
            reconciler_for(action.kind).delete(found, self._ctx(found.region))
        except Exception as err:
            self._fail(action, err)
            return
        with self._lock:
            self.live.pop(action.logical_id, None)

    def _converge(self, action: Action) -> None:
        if action.logical_id in self.outcomes:
            return  # its old half failed to go
        if not action.type.mutates:
            return
        blocker = self.holds.waiting_on(action) or self.holds.held_back(action)
        if blocker:
            self._finish(action, *blocker)
            return
        res = resolve(self.plan.resources[action.logical_id], self._attrs_of, self.account_id)
        if contains_unknown(dict(res.spec)):
            first = res.with_spec(without_unknown_members(dict(res.spec)))
            if contains_unknown(dict(first.spec)):
                self._finish(action, SKIPPED, "a referenced value is still unknown")
                return
            res = first
            with self._lock:
                self.deferred.add(action.logical_id)
        started = _now()
        try:
            observed = self._write(action, res)
        except Exception as err:
            self._fail(action, err, started)
            return
        self._finish(action, APPLIED, "", started, observed)

    def _second_pass(self, action: Action) -> None:
        """Add the set members whose late references are known now that everything exists."""
        if self.outcomes.get(action.logical_id, Outcome(APPLIED)).status != APPLIED:
            return
        res = resolve(self.plan.resources[action.logical_id], self._attrs_of, self.account_id)
        if contains_unknown(dict(res.spec)):
            self._finish(action, FAILED, "a late reference is still unknown after every wave")
            return
        try:
            observed = self._write(action, res)
        except Exception as err:
            self._fail(action, err)
            return
        with self._lock:
            self.outcomes[action.logical_id] = Outcome(APPLIED, "", observed)

    def _delete_orphan(self, action: Action) -> None:
        if action.logical_id in self.outcomes:
            return  # its release failed
        if action.logical_id not in self.live:
            self._finish(action, UNCHANGED, "already gone")
            return
        found = self._to_touch(action)
        if found is None:
            return
        started = _now()
        try:
            reconciler_for(action.kind).delete(found, self._ctx(found.region))
        except Exception as err:
            self._fail(action, err, started)
            return
        with self._lock:
            self.live.pop(action.logical_id, None)
        self._finish(action, APPLIED, "", started)

    # -- helpers -----------------------------------------------------------------------

    def _to_touch(self, action: Action) -> Observed | None:
        """What is live of the action's resource, unless nothing is, or the run may write
        no more of its stack (the action then ends so)."""
        found = self.live.get(action.logical_id)
        held: Hold | None = None if found is None else self.holds.held_back(action)
        if held:
            self._finish(action, *held)
            return None
        return found

    def _write(self, action: Action, res: Resource) -> Observed:
        ctx, found = self._ctx(res.region), self.live.get(res.logical_id)
        observed = write(action, res, found, ctx, self.journal, self.run_id)
        with self._lock:
            self.live[action.logical_id] = observed
        return observed

    def _attrs_of(self, lid: str) -> Mapping[str, Any] | None:
        found = self.live.get(lid)
        return found.attrs if found is not None else None

    def _ctx(self, region: str) -> Context:
        return self.contexts[region]

    def _fail(self, action: Action, err: BaseException, started: dt.datetime | None = None) -> None:
        classified = reconciler_for(action.kind).classify(err)
        label = "terminal" if type(classified).__name__ == "TerminalError" else "transient"
        code = f"{classified.code}: " if classified.code else ""
        self._finish(action, FAILED, f"{code}{classified} ({label})", started)

    def _finish(
        self,
        action: Action,
        status: str,
        error: str = "",
        started: dt.datetime | None = None,
        observed: Observed | None = None,
    ) -> None:
        with self._lock:
            self.outcomes[action.logical_id] = Outcome(status, error, observed)
        outcome = recorded_as(action, status)
        self.journal.record_change(self.run_id, action, outcome, error, started, _now())
        self.on_event(action, status)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
