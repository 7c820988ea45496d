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
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from controller.aws.context import Context
from controller.aws.retry_guard import WRITE_TRIES, AmbiguousWrite, create_attempt, settle
from controller.engine.graph import Graph, resolve, without_unknown_members
from controller.engine.plan import Plan
from controller.engine.readiness import Waiter
from controller.kinds.diff import contains_unknown, diff
from controller.kinds.registry import REGISTRY, reconciler_for
from controller.model import Action, ActionType, Diff, Observed, Resource

A = ActionType
APPLIED, FAILED, SKIPPED, PENDING, UNCHANGED = (
    "applied",
    "failed",
    "skipped",
    "pending",
    "unchanged",
)


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str = ""
    observed: Observed | None = None


class Journal(Protocol):
    def mark_create_pending(
        self, run_id: int, stack: str, logical_id: str, kind: str, physical_name: str
    ) -> None: ...
    def mark_created(self, run_id: int, observed: Observed) -> None: ...
    def record_change(
        self,
        run_id: int,
        action: Action,
        outcome: str,
        error: str = "",
        started_at: dt.datetime | None = None,
        finished_at: dt.datetime | None = None,
    ) -> None: ...


Event = Callable[[Action, str], None]


class Applier:
    def __init__(
        self,
        plan: Plan,
        contexts: Mapping[str, Context],
        journal: Journal,
        run_id: int,
        account_id: Callable[[], str],
        workers: int = 8,
        on_event: Event | None = None,
        waiter: Waiter | None = None,
        may_write: Callable[[str], bool] = lambda stack: True,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.plan, self.contexts, self.journal, self.run_id = plan, contexts, journal, run_id
        self.account_id = account_id
        self.workers = max(1, workers)
        self.on_event = on_event or (lambda action, status: None)
        self.graph = Graph(plan.resources.values())
        self.actions = plan.by_id()
        self.live: dict[str, Observed] = {
            lid: o for lid, o in plan.observation.observed.items() if o.owned
        }
        self.outcomes: dict[str, Outcome] = {}
        self.deferred: set[str] = set()  # written without their late members; finished last
        self.waiter = waiter or Waiter(0)
        # False once the run has lost its stack's lease: another writer may be at work.
        self.may_write = may_write
        # True once plumb is told to stop (SIGTERM): steps in flight end, no new one starts.
        self.stopping = stopping
        self.stopped = False
        self._lock = threading.Lock()

    def run(self) -> dict[str, Outcome]:
        replaced = {lid for lid, a in self.actions.items() if a.type is A.REPLACE}
        doomed = [lid for lid, a in self.actions.items() if a.type in (A.REPLACE, A.DELETE)]
        self._run_wave(doomed, self._release)
        for wave in reversed(self.graph.waves()):
            self._run_wave([lid for lid in wave if lid in replaced], self._destroy_old)
        for wave in self.graph.waves():
            self._run_wave(wave, self._converge)
        self._run_wave(sorted(self.deferred), self._second_pass)
        for wave in self._orphan_waves():
            self._run_wave(wave, self._delete_orphan)
        for lid, action in self.actions.items():
            if lid not in self.outcomes:
                self._finish(action, UNCHANGED)
        return self.outcomes

    # -- scheduling --------------------------------------------------------------------

    def _run_wave(self, wave: Iterable[str], step: Callable[[Action], None]) -> None:
        todo = [self.actions[lid] for lid in wave if lid in self.actions]
        if not todo:
            return
        with cf.ThreadPoolExecutor(max_workers=self.workers) as pool:
            list(pool.map(step, todo))

    def _orphan_waves(self) -> list[list[str]]:
        """Deletes of what left the spec, most dependent kinds first."""
        rank = kind_ranks(self.graph)
        doomed = [a for a in self.actions.values() if a.type is A.DELETE]
        levels = sorted({rank.get(a.kind, 0) for a in doomed}, reverse=True)
        return [[a.logical_id for a in doomed if rank.get(a.kind, 0) == lvl] for lvl in levels]

    # -- steps -------------------------------------------------------------------------

    def _release(self, action: Action) -> None:
        found = self.live.get(action.logical_id)
        if found is None:
            return
        held = self._held_back(action)
        if held:
            self._finish(action, *held)
            return
        try:
            reconciler_for(action.kind).release(found, self._ctx(found.region))
        except Exception as err:  # its delete is then skipped: it may still hold others
            self._fail(action, err)

    def _destroy_old(self, action: Action) -> None:
        found = self.live.get(action.logical_id)
        if found is None or action.logical_id in self.outcomes:
            return
        held = self._held_back(action)
        if held:
            self._finish(action, *held)
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
        blocker = self._waiting_on(action) or self._held_back(action)
        if blocker:
            status, why = blocker
            self._finish(action, status, why)
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
        with self._lock:
            self.live[action.logical_id] = observed
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
            self.live[action.logical_id] = observed
            self.outcomes[action.logical_id] = Outcome(APPLIED, "", observed)

    def _write(self, action: Action, res: Resource) -> Observed:
        """Create or update; a write whose answer was lost (retry_guard.py) is followed by
        an observation by tag, and sent again only if nothing of it is there."""
        rec = reconciler_for(res.kind)
        ctx = self._ctx(res.region)
        found = self.live.get(res.logical_id)
        creating = found is None
        with create_attempt():  # one client token for every send of this create
            for attempt in range(1, WRITE_TRIES + 1):
                try:
                    observed = self._write_once(action, res, rec, ctx, found)
                    break
                except AmbiguousWrite:
                    if attempt == WRITE_TRIES:
                        raise
                    found = settle(lambda: rec.find_own(res, ctx)) or found
        if creating:
            self.journal.mark_created(self.run_id, observed)
        return observed

    def _write_once(
        self, action: Action, res: Resource, rec: Any, ctx: Context, found: Observed | None
    ) -> Observed:
        if found is None:
            self.journal.mark_create_pending(
                self.run_id, res.stack, res.logical_id, res.kind, rec.physical_name(res)
            )
            return rec.create(res, ctx)  # type: ignore[no-any-return]
        waived = {c.path for c in action.waived}
        delta = Diff(tuple(c for c in diff(res, found).changes if c.path not in waived))
        return rec.update(res, found, delta, ctx) if delta else found

    def _delete_orphan(self, action: Action) -> None:
        if action.logical_id in self.outcomes:
            return  # its release failed
        found = self.live.get(action.logical_id)
        if found is None:
            self._finish(action, UNCHANGED, "already gone")
            return
        lost = self._held_back(action)
        if lost:
            self._finish(action, *lost)
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

    def _waiting_on(self, action: Action) -> tuple[str, str] | None:
        for dep in sorted(self.graph.deps.get(action.logical_id, ())):
            outcome = self.outcomes.get(dep)
            if outcome and outcome.status in (FAILED, SKIPPED):
                return SKIPPED, f"dependency {dep} {outcome.status}"
            if outcome and outcome.status == PENDING:
                return PENDING, f"waits for {dep}"
            dep_action = self.actions.get(dep)
            if (
                dep_action is not None
                and dep_action.type in (A.BLOCKED, A.UNKNOWN)
                and dep not in self.live
            ):
                return SKIPPED, f"dependency {dep} is {dep_action.type.value}"
            found = self.live.get(dep)
            if found is not None and not found.ready and not self._await(dep, found).ready:
                return PENDING, f"waits for {dep} to become ready"
        return None

    def _await(self, lid: str, found: Observed) -> Observed:
        """Polls a dependency still becoming ready, within the run's wait budget."""
        res = self.plan.resources.get(lid)
        if res is None:
            return found

        def poll() -> Observed | None:
            try:
                rec = reconciler_for(found.kind)
                return rec.observe_one(res, self._ctx(res.region), found.physical_id)
            except Exception:  # a failed poll is "not ready yet", never "gone"
                return None

        latest = self.waiter.wait(lid, found, poll)
        with self._lock:
            self.live[lid] = latest
        return latest

    def _held_back(self, action: Action) -> tuple[str, str] | None:
        if self.stopping():
            self.stopped = True
            return SKIPPED, "not started: plumb was told to stop; the next run goes on"
        if self.may_write(action.stack):
            return None
        return SKIPPED, f"the lease on stack {action.stack} was lost; no more writes this run"

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
        outcome = {
            APPLIED: "applied",
            FAILED: "failed",
            SKIPPED: "skipped",
            PENDING: "pending",
            UNCHANGED: "unchanged",
        }[status]
        if action.type in (A.BLOCKED, A.UNKNOWN, A.ORPHAN) and status == UNCHANGED:
            outcome = "refused" if action.type is A.BLOCKED else action.type.value
        self.journal.record_change(self.run_id, action, outcome, error, started, _now())
        self.on_event(action, status)


def kind_ranks(graph: Graph) -> dict[str, int]:
    """Kinds in dependency order: edges from the desired graph and each kind's `requires`."""
    edges: dict[str, set[str]] = {
        kind: set(cls.descriptor.requires) for kind, cls in REGISTRY.items()
    }
    for lid, deps in graph.deps.items():
        kind = graph.nodes[lid].kind
        edges.setdefault(kind, set()).update(graph.nodes[d].kind for d in deps)
    rank: dict[str, int] = {}

    def depth(kind: str, seen: frozenset[str]) -> int:
        if kind in rank:
            return rank[kind]
        parents = [d for d in edges.get(kind, ()) if d not in seen and d != kind]
        rank[kind] = 1 + max((depth(p, seen | {kind}) for p in parents), default=-1)
        return rank[kind]

    for kind in edges:
        depth(kind, frozenset())
    return rank


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
