"""What holds an action of an apply back: a dependency that failed, waits, or is not ready
yet (polled within the run's wait budget), a stack's lease lost, or plumb told to stop."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from botocore.exceptions import BotoCoreError, ClientError

from controller.aws.context import Context
from controller.engine.graph import Graph
from controller.engine.outcome import FAILED, PENDING, SKIPPED, Progress
from controller.engine.readiness import Waiter
from controller.errors import AwsError
from controller.kinds.registry import reconciler_for
from controller.model import Action, ActionType, Observed, Resource

A = ActionType
Hold = tuple[str, str]  # the status the action ends with, and why


class Holds:
    def __init__(
        self,
        graph: Graph,
        actions: Mapping[str, Action],
        progress: Progress,
        contexts: Mapping[str, Context],
        waiter: Waiter,
        may_write: Callable[[str], bool],
        stopping: Callable[[], bool],
    ) -> None:
        self.graph, self.actions, self.progress = graph, actions, progress
        self.contexts, self.waiter = contexts, waiter
        # False once the run has lost its stack's lease: another writer may be at work.
        self.may_write = may_write
        # True once plumb is told to stop (SIGTERM): steps in flight end, no new one starts.
        self.stopping = stopping
        self.stopped = False

    def waiting_on(self, action: Action) -> Hold | None:
        """Why the action cannot go yet for its dependencies, if it cannot."""
        live, outcomes = self.progress.live, self.progress.outcomes
        for dep in sorted(self.graph.deps.get(action.logical_id, ())):
            outcome = outcomes.get(dep)
            if outcome and outcome.status in (FAILED, SKIPPED):
                return SKIPPED, f"dependency {dep} {outcome.status}"
            if outcome and outcome.status == PENDING:
                return PENDING, f"waits for {dep}"
            dep_action = self.actions.get(dep)
            if (
                dep_action is not None
                and dep_action.type in (A.BLOCKED, A.UNKNOWN)
                and dep not in live
            ):
                return SKIPPED, f"dependency {dep} is {dep_action.type.value}"
            found = live.get(dep)
            if found is not None and not found.ready and not self._await(dep, found).ready:
                return PENDING, f"waits for {dep} to become ready"
        return None

    def held_back(self, action: Action) -> Hold | None:
        """Why the run may write nothing more of the action's stack, if it may not."""
        if self.stopping():
            self.stopped = True
            return SKIPPED, "not started: plumb was told to stop; the next run goes on"
        if self.may_write(action.stack):
            return None
        return SKIPPED, f"the lease on stack {action.stack} was lost; no more writes this run"

    def _await(self, lid: str, found: Observed) -> Observed:
        """Polls a dependency still becoming ready, within the run's wait budget."""
        res = self.graph.nodes.get(lid)
        if res is None:
            return found
        latest = self.waiter.wait(lid, found, lambda: self._poll(res, found))
        with self.progress.lock:
            self.progress.live[lid] = latest
        return latest

    def _poll(self, res: Resource, found: Observed) -> Observed | None:
        rec = reconciler_for(found.kind)
        try:
            return rec.observe_one(res, self.contexts[res.region], found.physical_id)
        except (ClientError, BotoCoreError, AwsError):
            # AWS failing to answer a poll is "not ready yet", never "gone"; anything else
            # is a bug of plumb's, which fails the action waiting on it, named in the report.
            return None
