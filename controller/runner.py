"""One run of plumb: specs -> observe -> plan -> (apply) -> state + report.

Every verb the command line offers that touches AWS goes through `Runner`, so each leaves a
run in the state (with its API-call count and hash-chain link) and a report on disk.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller import report
from controller.apply import APPLIED, FAILED, PENDING, SKIPPED, Applier, Event, Outcome
from controller.aws import ClientFactory
from controller.config import Settings
from controller.context import Context
from controller.embedded import certificate_arns, provide_certificates
from controller.errors import LockError
from controller.model import ActionType, Resource
from controller.observe import contexts_for, observe_all
from controller.plan import Plan, PlanOptions, build_plan
from controller.policy import StackPolicy
from controller.readiness import Waiter
from controller.state.store import Store, new_holder

A = ActionType


@dataclass
class RunResult:
    run_id: int
    plan: Plan
    outcome: str
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    api_calls: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    reports: dict[str, Path] = field(default_factory=dict)
    run_hash: str = ""

    @property
    def failed(self) -> dict[str, Outcome]:
        return {k: o for k, o in self.outcomes.items() if o.status in (FAILED, SKIPPED)}


@dataclass
class Desired:
    """What the specs ask for: resources, stack policies and where they came from."""

    resources: list[Resource]
    policies: dict[str, StackPolicy]
    commit: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def stacks(self) -> list[str]:
        return sorted({r.stack for r in self.resources} | set(self.policies))

    def only(self, stacks: Sequence[str]) -> Desired:
        if not stacks:
            return self
        keep = set(stacks)
        return Desired(
            [r for r in self.resources if r.stack in keep],
            {s: p for s, p in self.policies.items() if s in keep},
            self.commit,
            self.source,
        )


class Runner:
    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or Store(settings.state_url)

    def new_clients(self) -> ClientFactory:
        return ClientFactory(max_attempts=self.settings.max_attempts)

    # -- verbs -------------------------------------------------------------------------

    def plan(
        self,
        desired: Desired,
        options: PlanOptions,
        trigger: str = "cli-plan",
        command: str = "plan",
    ) -> RunResult:
        clients = self.new_clients()
        run_id = self.store.begin_run(
            trigger, command, desired.stacks, desired.commit, desired.source
        )
        started = time.monotonic()
        plan, _ = self._plan(desired, options, clients)
        for action in plan.actions:
            self.store.record_change(run_id, action, "planned")
        has_changes = bool(plan.changes) or any(a.type is A.BLOCKED for a in plan.actions)
        outcome = "planned" if has_changes else "no-changes"
        return self._finish(run_id, plan, outcome, {}, clients, started)

    def apply(
        self,
        desired: Desired,
        options: PlanOptions,
        trigger: str = "cli-apply",
        on_event: Event | None = None,
        reviewed: Any = None,
    ) -> RunResult:
        """Converge; `reviewed` is a saved plan that the fresh plan must match exactly."""
        clients = self.new_clients()
        run_id = self.store.begin_run(
            trigger, "apply", desired.stacks, desired.commit, desired.source
        )
        started = time.monotonic()
        with self._locks(desired.stacks):
            plan, contexts = self._plan(desired, options, clients)
            if reviewed is not None:
                try:
                    reviewed.check_fresh(plan)
                except Exception as err:
                    self._finish(run_id, plan, "rejected", {}, clients, started, [str(err)])
                    raise
            account = functools.partial(_account_id, contexts)
            applier = Applier(
                plan,
                contexts,
                self.store,
                run_id,
                account,
                self.settings.workers,
                on_event,
                Waiter(self.settings.wait_seconds),
            )
            outcomes = applier.run()  # records every action, refused ones too
            self._remember(plan, outcomes, run_id)
        return self._finish(run_id, plan, _outcome(plan, outcomes), outcomes, clients, started)

    def record_rejected(
        self, trigger: str, commit: Mapping[str, Any], source: str, error: str
    ) -> int:
        """A commit that failed validation still leaves a run and a report for the auditor."""
        run_id = self.store.begin_run(trigger, "sync", [], dict(commit), source)
        self.store.finish_run(run_id, "rejected", {}, {}, {}, [error], [])
        self.write_reports(run_id)
        return run_id

    # -- pieces ------------------------------------------------------------------------

    def _plan(
        self, desired: Desired, options: PlanOptions, clients: ClientFactory
    ) -> tuple[Plan, dict[str, Context]]:
        contexts = contexts_for(clients, desired.resources, desired.stacks, self.settings.region)
        if self.settings.aws == "embedded":
            # The stand-in account holds the certificates the specs name, as theirs would.
            provide_certificates(certificate_arns(r.spec for r in desired.resources))
        observation = observe_all(desired.resources, contexts, self.settings.workers)
        plan = build_plan(
            desired.resources,
            desired.policies,
            observation,
            functools.partial(_account_id, contexts),
            self.store,
            options,
        )
        return plan, contexts

    @contextlib.contextmanager
    def _locks(self, stacks: Sequence[str]) -> Iterator[None]:
        holder = new_holder()
        held: list[str] = []
        try:
            for stack in stacks:
                if not self.store.acquire_lock(
                    stack, holder, self.settings.lease_seconds
                ) and not self._take_over_from_the_dead(stack, holder):
                    raise LockError(self._held_by(stack))
                held.append(stack)
            yield
        finally:
            for stack in held:
                self.store.release_lock(stack, holder)

    def _held_by(self, stack: str) -> str:
        """Who holds the stack, since when, and how long its lease has left."""
        lock = self.store.lock(stack)
        if not lock:  # released between the attempt and this read
            return f"stack {stack} was locked by another plumb run; try again"
        host, _, rest = str(lock["holder"]).partition(":")
        pid = rest.partition(":")[0] or "?"
        left = datetime.fromisoformat(str(lock["expiresAt"])) - datetime.now(UTC)
        return (
            f"stack {stack} is locked by plumb pid {pid} on {host} since {lock['acquiredAt']}; "
            f"its lease has {max(0, int(left.total_seconds()))} s left: wait for that run to "
            "finish, or see `plumb locks`"
        )

    def _take_over_from_the_dead(self, stack: str, holder: str) -> bool:
        """A lease held by a plumb process on this host that no longer exists (killed, or
        the machine's power cut) is released at once instead of after it expires."""
        lock = self.store.lock(stack)
        if not lock:
            return False
        host, _, rest = str(lock["holder"]).partition(":")
        pid = rest.partition(":")[0]
        if host != socket.gethostname() or not pid.isdigit() or _alive(int(pid)):
            return False
        self.store.release_lock(stack, str(lock["holder"]))
        return self.store.acquire_lock(stack, holder, self.settings.lease_seconds)

    def _remember(self, plan: Plan, outcomes: Mapping[str, Outcome], run_id: int) -> None:
        """Resource rows and drift streaks, for history and non-converging detection."""
        for action in plan.actions:
            outcome = outcomes.get(action.logical_id)
            observed = (
                outcome.observed
                if outcome and outcome.observed
                else plan.observation.observed.get(action.logical_id)
            )
            status = _resource_status(action.type, outcome)
            if action.type is A.BLOCKED and action.reason.startswith("non-converging"):
                status = "non-converging"
            if action.type is A.DELETE and outcome and outcome.status == APPLIED:
                self.store.mark_deleted(action.stack, action.logical_id, run_id)
                continue
            self.store.upsert_resource(
                action.stack,
                action.logical_id,
                action.kind,
                observed.physical_id if observed else "",
                str(observed.attrs.get("arn", "")) if observed else "",
                status,
                _desired_hash(plan.resources.get(action.logical_id)),
                dict(observed.spec) if observed else None,
                run_id,
            )
            if action.type is A.UPDATE and outcome and outcome.status == APPLIED:
                self.store.record_drift(
                    action.stack, action.logical_id, [c.path for c in action.changes], True
                )
            elif action.type is A.NOOP:
                self.store.record_drift(action.stack, action.logical_id, [], False)

    def _finish(
        self,
        run_id: int,
        plan: Plan,
        outcome: str,
        outcomes: Mapping[str, Outcome],
        clients: ClientFactory,
        started: float,
        extra_errors: Sequence[str] = (),
    ) -> RunResult:
        seconds = round(time.monotonic() - started, 3)
        calls = clients.counter.snapshot()
        errors = [
            *plan.errors,
            *extra_errors,
            *(
                f"{lid}: {o.error}"
                for lid, o in sorted(outcomes.items())
                if o.status in (FAILED, SKIPPED)
            ),
        ]
        counts = plan.counts()
        counts["failed"] = sum(1 for o in outcomes.values() if o.status == FAILED)
        run_hash = self.store.finish_run(
            run_id, outcome, counts, calls, {"seconds": seconds}, errors, plan.warnings
        )
        result = RunResult(run_id, plan, outcome, dict(outcomes), calls, seconds, run_hash=run_hash)
        result.reports = self.write_reports(run_id)
        return result

    def write_reports(self, run_id: int) -> dict[str, Path]:
        folder = self.settings.report_folder()
        folder.mkdir(parents=True, exist_ok=True)
        run = self.store.run(run_id)
        out = {}
        for fmt, ext in (("json", "json"), ("markdown", "md"), ("html", "html")):
            path = folder / f"run-{run_id:06d}.{ext}"
            path.write_text(report.render(run, fmt))
            out[fmt] = path
        return out


def _desired_hash(res: Resource | None) -> str:
    """What the spec asked for, as a hash: a row whose hash changed had its spec changed."""
    if res is None:
        return ""  # left the spec
    body = {"kind": res.kind, "spec": res.spec, "tags": res.ownership_tags()}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _account_id(contexts: Mapping[str, Context]) -> str:
    return next(iter(contexts.values())).account_id if contexts else ""


def _resource_status(action: ActionType, outcome: Outcome | None) -> str:
    if outcome is not None and outcome.status in (FAILED, SKIPPED):
        return "failed"
    if outcome is not None and outcome.status == PENDING:
        return "creating"
    return {
        A.NOOP: "in-sync",
        A.CREATE: "in-sync",
        A.UPDATE: "in-sync",
        A.REPLACE: "in-sync",
        A.ORPHAN: "orphan",
        A.BLOCKED: "blocked",
        A.UNKNOWN: "unknown",
        A.DELETE: "orphan",
    }[action]


def _outcome(plan: Plan, outcomes: Mapping[str, Outcome]) -> str:
    statuses = [o.status for o in outcomes.values()]
    troubled = bool(plan.errors) or any(a.type in (A.BLOCKED, A.UNKNOWN) for a in plan.actions)
    if FAILED in statuses or SKIPPED in statuses:
        return "failed" if APPLIED not in statuses else "partial"
    if PENDING in statuses:
        return "progressing"
    if troubled:
        return "partial"
    return "succeeded" if APPLIED in statuses else "no-changes"
