"""One run of plumb: specs -> observe -> plan -> (apply) -> state + report.

Every verb the command line offers that touches AWS goes through `Runner`, so each leaves a
run in the state (with its API-call count and hash-chain link) and a report on disk.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from controller import logs
from controller.audit.archive import Anchoring
from controller.aws.clients import ClientFactory
from controller.aws.context import Context
from controller.config import Settings
from controller.engine import run_facts, waivers
from controller.engine.apply import APPLIED, FAILED, PENDING, SKIPPED, Applier, Event, Outcome
from controller.engine.confirmed import as_shown, still_open
from controller.engine.desired import Desired
from controller.engine.lease import Leases
from controller.engine.ledger import Ledger
from controller.engine.observe import Observation, contexts_for, observe_all
from controller.engine.plan import Plan, PlanOptions, StoreState, build_plan
from controller.engine.readiness import Waiter
from controller.engine.run_result import RunRecords, RunResult
from controller.errors import LockError
from controller.model import ActionType
from controller.specs import guardrails
from controller.state import unsealed
from controller.state.store import Store

A = ActionType
_log = logging.getLogger(__name__)


class Runner:
    def __init__(
        self, settings: Settings, store: Store | None = None, records: RunRecords | None = None
    ) -> None:
        self.settings = settings
        # None: runs are recorded in the state only (a test of the engine, a benchmark).
        self.records = records
        self.store = store or Store(settings.state_url)
        if settings.audit_key:
            self.store.chain.audit_key = settings.audit_key
        self.anchoring = Anchoring(settings)
        # Observers the loop sets (its metrics); the engine knows nothing of what they do.
        self.on_run: Callable[[RunResult], None] | None = None
        self.on_lease_takeover: Callable[[str], None] | None = None
        # Set when plumb is told to stop (SIGTERM): a run ends its steps in flight, starts
        # no other, and is sealed `interrupted`; its leases are released as ever.
        self.stopping = threading.Event()
        self._swept = False  # see _seal_dead_here

    def new_clients(self) -> ClientFactory:
        return ClientFactory(max_attempts=self.settings.max_attempts)

    # -- verbs -------------------------------------------------------------------------

    def plan(
        self,
        desired: Desired,
        options: PlanOptions,
        trigger: str = "cli-plan",
        command: str = "plan",
        decide: Callable[[Plan], str | None] | None = None,
    ) -> RunResult:
        """Observe and plan; a drift check ends "in-sync" or "drifted", a plan "planned" or
        "no-changes", unless `decide` (shown the plan before the run is sealed: a person
        asked to confirm) names the outcome, "declined" say."""
        clients = self.new_clients()
        run_id = self.store.runs.begin(
            trigger, command, desired.stacks, desired.commit, desired.source, desired.actor
        )
        with self._sealed_if_cut_short(run_id):
            self._seal_dead_here(run_id)
            started = time.monotonic()
            plan, contexts = self._plan(desired, options, clients)
            Ledger(self.store, run_id).planned(plan)
            has_changes = bool(plan.changes) or any(a.type is A.BLOCKED for a in plan.actions)
            if command == "drift":
                outcome = "drifted" if has_changes else "in-sync"
            else:
                outcome = "planned" if has_changes else "no-changes"
            if decide is not None:
                outcome = decide(plan) or outcome
            return self._finish(run_id, plan, outcome, {}, (clients, contexts), started)

    def apply(
        self,
        desired: Desired,
        options: PlanOptions,
        trigger: str = "cli-apply",
        on_event: Event | None = None,
        reviewed: Any = None,
        wait: float = 0.0,
        confirm: Callable[[Plan], bool] | None = None,
    ) -> RunResult:
        """Converge; `reviewed` is a saved plan that the fresh plan must match exactly;
        `confirm` is shown the plan (a person at a terminal) and may decline it, all in
        this one run.

        The stacks' leases are taken before the run begins (a refused run leaves no open
        run behind) and released after it is sealed, waiting up to `wait` seconds for a
        holder to finish; LockError past that."""
        clients = self.new_clients()
        with Leases(
            self.store, self.settings.lease_seconds, on_takeover=self.on_lease_takeover
        ) as held:
            for stack in desired.stacks:
                held.take(stack, wait)
            run_id = self.store.runs.begin(
                trigger, "apply", desired.stacks, desired.commit, desired.source, desired.actor
            )
            with self._sealed_if_cut_short(run_id):
                self._take_over(held, run_id)
                started = time.monotonic()
                plan, contexts = self._plan(desired, options, clients)
                aws = (clients, contexts)
                agreed = self._agreed(
                    run_id, plan, desired, options, aws, started, reviewed, confirm
                )
                if agreed is None:
                    return self._finish(run_id, plan, "declined", {}, aws, started)
                return self._write(run_id, agreed, aws, held, on_event, started)

    def _take_over(self, held: Leases, run_id: int) -> None:
        """The run names itself in its leases, then seals the runs it finds left open: those
        of the stacks it took over, and this host's whose plumb is gone."""
        held.for_run(run_id)
        logs.note(run=run_id)
        unnamed = unsealed.unnamed_applies(self.store, held.unnamed, run_id)
        orphaned = {**held.orphaned_runs, **unnamed}
        self._close_interrupted(orphaned, run_id)
        self._seal_dead_here(run_id)

    def _agreed(
        self,
        run_id: int,
        plan: Plan,
        desired: Desired,
        options: PlanOptions,
        aws: tuple[ClientFactory, dict[str, Context]],
        started: float,
        reviewed: Any,
        confirm: Callable[[Plan], bool] | None,
    ) -> Plan | None:
        """The plan to write: as the saved plan reviewed it, or as a person confirmed it
        (None: they declined). A plan that differs from either seals the run `rejected`."""
        try:
            if reviewed is not None:
                reviewed.check_fresh(plan)
            if confirm is None or not plan.changes:
                return plan
            if not confirm(plan):
                return None
            still_open(self.store, run_id)
            account = functools.partial(_account_id, aws[1])
            return as_shown(plan, desired, options, aws[1], self.store, self.settings, account)
        except LockError:
            raise  # sealed elsewhere: nothing more to record under it
        except Exception as err:
            self._finish(run_id, plan, "rejected", {}, aws, started, [str(err)])
            raise

    def _write(
        self,
        run_id: int,
        plan: Plan,
        aws: tuple[ClientFactory, dict[str, Context]],
        held: Leases,
        on_event: Event | None,
        started: float,
    ) -> RunResult:
        ledger = Ledger(self.store, run_id)
        applier = Applier(
            plan,
            aws[1],
            ledger,
            run_id,
            functools.partial(_account_id, aws[1]),
            self.settings.workers,
            on_event,
            Waiter(
                self.settings.wait_seconds, sleep=self.stopping.wait, stopping=self.stopping.is_set
            ),
            may_write=held.holds,
            stopping=self.stopping.is_set,
        )
        outcomes = applier.run()  # records every action, refused ones too
        ledger.remember(plan, outcomes)
        if applier.stopped:
            why = "interrupted: plumb was told to stop; the steps in flight ended, the "
            why += "actions not started are listed as skipped, the next run goes on"
            return self._finish(run_id, plan, "interrupted", outcomes, aws, started, [why])
        return self._finish(run_id, plan, _outcome(plan, outcomes), outcomes, aws, started)

    @contextlib.contextmanager
    def _sealed_if_cut_short(self, run_id: int) -> Iterator[None]:
        """A run cut short in this process (Ctrl-C, an error plumb did not expect) is
        sealed `interrupted` with the changes it made: no run stays outside the chain
        because its process stopped early. A run sealed already (refused, or taken over
        by another replica) is left as it is."""
        try:
            yield
        except BaseException as err:
            if isinstance(err, KeyboardInterrupt):
                why = "interrupted: stopped by the user (Ctrl-C) before the run ended"
            else:
                why = f"interrupted: {type(err).__name__}: {err}".rstrip(": ")
            with contextlib.suppress(Exception):  # the state itself may be what failed
                if self.store.runs.get(run_id).get("hash") is None:
                    self.store.chain.seal(run_id, "interrupted", errors=[why])
                    self.write_reports(run_id)
            raise

    def _seal_dead_here(self, by: int) -> None:
        """Runs whose plumb is gone without a lease for a takeover to find (a `plan`, an
        older plumb's apply preview; see controller/state/unsealed.py) are sealed
        `interrupted`: none stays outside the chain for ever. Once per Runner: the loop's
        later cycles would only find what its first one sealed."""
        if self._swept:
            return
        self._swept = True
        for run_id, why in unsealed.gone(self.store, by, socket.gethostname()):
            with contextlib.suppress(ValueError):  # sealed meanwhile by another run
                self.store.chain.seal(run_id, "interrupted", errors=[why])
                self.write_reports(run_id)

    def _close_interrupted(self, orphaned: Mapping[int, str], by: int) -> None:
        """A run whose holder died mid-apply is sealed as interrupted, with the changes it
        did make, by the run that took its stack over: none stays `running` for ever."""
        for run_id in sorted(orphaned):
            if self.store.runs.get(run_id).get("hash") is not None:
                continue  # it ended after all
            why = (
                f"interrupted: {orphaned[run_id]} and stopped before the run ended; run {by} "
                "took the stack over. The changes it made are listed."
            )
            with contextlib.suppress(ValueError):  # sealed meanwhile by another replica
                self.store.chain.seal(run_id, "interrupted", errors=[why])
                self.write_reports(run_id)
                self.anchor(run_id)

    def record_rejected(
        self,
        trigger: str,
        commit: Mapping[str, Any],
        source: str,
        errors: Sequence[str],
        actor: Mapping[str, Any] | None = None,
    ) -> int:
        """A refused commit still leaves a run and a report for the auditor."""
        run_id = self.store.runs.begin(trigger, "sync", [], dict(commit), source, actor)
        self.store.chain.seal(run_id, "rejected", {}, {}, {}, errors, [])
        self.write_reports(run_id)
        self.anchor(run_id)
        self._observe(RunResult(run_id, Plan([], {}, {}, Observation(), PlanOptions()), "rejected"))
        return run_id

    # -- pieces ------------------------------------------------------------------------

    def _plan(
        self, desired: Desired, options: PlanOptions, clients: ClientFactory
    ) -> tuple[Plan, dict[str, Context]]:
        contexts = contexts_for(clients, desired.resources, desired.stacks, self.settings.region)
        observation = observe_all(desired.resources, contexts, self.settings.workers)
        plan = build_plan(
            desired.resources,
            desired.policies,
            observation,
            functools.partial(_account_id, contexts),
            StoreState(self.store),
            options,
        )
        return plan, contexts

    def _finish(
        self,
        run_id: int,
        plan: Plan,
        outcome: str,
        outcomes: Mapping[str, Outcome],
        aws: tuple[ClientFactory, Mapping[str, Context]],
        started: float,
        extra_errors: Sequence[str] = (),
    ) -> RunResult:
        clients, contexts = aws
        identity = run_facts.aws_identity(contexts)  # before the count: its call is counted
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
        try:
            run_hash = self.store.chain.seal(
                run_id,
                outcome,
                counts,
                calls,
                {"seconds": seconds},
                errors,
                plan.warnings,
                waivers.in_run(plan),
                identity,
                run_facts.drift_found(plan),
                exceptions=guardrails.records(plan.policies, plan.options.today),
            )
        except ValueError:  # sealed already: its lease was lost, or it was open a day
            raise LockError(
                f"run {run_id} was sealed as interrupted by another plumb meanwhile (it lost "
                "its lease, or was open too long); the changes it made are recorded: see "
                f"`plumb report {run_id}`"
            ) from None
        result = RunResult(run_id, plan, outcome, dict(outcomes), calls, seconds, run_hash=run_hash)
        result.reports = self.write_reports(run_id)
        result.anchor_failures = self.anchor(run_id)
        self._observe(result)
        return result

    def anchor(self, run_id: int) -> list[str]:
        """Keep the chain head outside the database; what failed, for the run's output."""
        if not self.anchoring.enabled:
            return []
        try:
            run = self.store.runs.get(run_id)
            failures = self.anchoring.keep(run, self._report_json(run))
        except Exception as err:  # the run is sealed; a failure here must not lose it
            failures = [f"anchoring failed: {type(err).__name__}: {err}"]
        for failure in failures:
            _log.error("run %s is sealed but its chain head is not anchored: %s", run_id, failure)
            logs.emit("anchor-failed", "error", run=run_id, message=failure)
        return failures

    def _report_json(self, run: Mapping[str, Any]) -> str:
        """What the archive keeps of the run: its JSON report, or the run as the state
        holds it when no reports are written."""
        if self.records is not None:
            return self.records.render_json(run)
        return json.dumps(run, sort_keys=True, default=str)

    def _observe(self, result: RunResult) -> None:
        if self.on_run is None:
            return
        try:
            self.on_run(result)
        except Exception:  # a broken observer must not fail a run that is already sealed
            _log.exception("the run observer failed on run %s", result.run_id)

    def write_reports(self, run_id: int) -> dict[str, Path]:
        if self.records is None:
            return {}
        return self.records.write(self.store, self.settings.report_folder(), run_id)


def _account_id(contexts: Mapping[str, Context]) -> str:
    return next(iter(contexts.values())).account_id if contexts else ""


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
