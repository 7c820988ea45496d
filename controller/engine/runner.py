"""One run of plumb: specs -> observe -> plan -> (apply) -> sealed into the state's chain.

Every verb the command line offers that touches AWS goes through `Runner`, so each leaves a
run in the state (with its API-call count and hash-chain link). The runner keeps the run
(its leases, begin, plan, apply and seal); its observers (observers.py), handed in by whoever
makes it, are told of each sealed run: the command line's write its reports and anchor it,
the loop's count it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from controller import logs
from controller.aws.clients import ClientFactory
from controller.aws.context import Context
from controller.config import Settings
from controller.engine import cut_short
from controller.engine.apply import Applier
from controller.engine.confirmed import as_shown, still_open
from controller.engine.desired import Desired
from controller.engine.lease import Leases
from controller.engine.ledger import Ledger
from controller.engine.observe import Observation, contexts_for, observe_all
from controller.engine.observers import RunObserver, SealedRun
from controller.engine.outcome import Event
from controller.engine.plan import Plan, PlanOptions, build_plan
from controller.engine.plan_state import StoreState
from controller.engine.readiness import Waiter
from controller.engine.run_result import RunResult
from controller.engine.seal import outcome_of, seal
from controller.errors import LockError
from controller.model import ActionType
from controller.state import unsealed
from controller.state.store import Store

A = ActionType
# What the verbs return, importable beside the runner (the command line, the loop).
__all__ = ["RunResult", "Runner"]


class Runner:
    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        observers: Iterable[RunObserver] = (),
    ) -> None:
        self.settings = settings
        # None handed in: runs are sealed in the state only (a test of the engine).
        self.observers = list(observers)
        self.store = store or Store(settings.state_url)
        if settings.audit_key:
            self.store.chain.audit_key = settings.audit_key
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
        with cut_short.sealed_if_cut_short(self.store, run_id, self._tell):
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
            return self._told(
                seal(self.store, run_id, plan, outcome, {}, (clients, contexts), started)
            )

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
        with Leases(self.store, self.settings.lease_seconds, on_takeover=self._taken_over) as held:
            for stack in desired.stacks:
                held.take(stack, wait)
            run_id = self.store.runs.begin(
                trigger, "apply", desired.stacks, desired.commit, desired.source, desired.actor
            )
            with cut_short.sealed_if_cut_short(self.store, run_id, self._tell):
                self._take_over(held, run_id)
                started = time.monotonic()
                plan, contexts = self._plan(desired, options, clients)
                aws = (clients, contexts)
                agreed = self._agreed(
                    run_id, plan, desired, options, aws, started, reviewed, confirm
                )
                if agreed is None:
                    return self._told(seal(self.store, run_id, plan, "declined", {}, aws, started))
                return self._write(run_id, agreed, aws, held, on_event, started)

    def _take_over(self, held: Leases, run_id: int) -> None:
        """The run names itself in its leases, then seals the runs it finds left open: those
        of the stacks it took over, and this host's whose plumb is gone."""
        held.for_run(run_id)
        logs.note(run=run_id)
        unnamed = unsealed.unnamed_applies(self.store, held.unnamed, run_id)
        orphaned = {**held.orphaned_runs, **unnamed}
        cut_short.close_interrupted(self.store, orphaned, run_id, self._tell)
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
            self._told(seal(self.store, run_id, plan, "rejected", {}, aws, started, [str(err)]))
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
            outcome, extra = "interrupted", [why]
        else:
            outcome, extra = outcome_of(plan, outcomes), []
        return self._told(seal(self.store, run_id, plan, outcome, outcomes, aws, started, extra))

    def _seal_dead_here(self, by: int) -> None:
        """Runs whose plumb is gone with no lease to take over are sealed (cut_short.py);
        once per Runner: the loop's later cycles would only find what its first one sealed."""
        if not self._swept:
            self._swept = True
            cut_short.seal_dead_here(self.store, by, self._tell)

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
        nothing = Plan([], {}, {}, Observation(), PlanOptions())
        self._tell(run_id, RunResult(run_id, nothing, "rejected"))
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

    # -- observers ---------------------------------------------------------------------

    def _told(self, result: RunResult) -> RunResult:
        self._tell(result.run_id, result)
        return result

    def _tell(self, run_id: int, result: RunResult | None = None) -> None:
        """Every observer is told of the sealed run, in the order they were handed in; what
        the records left (report files, anchor failures) goes into the result."""
        sealed = SealedRun(run_id, self.store, result)
        for observer in self.observers:
            observer.sealed(sealed)
        if result is not None:
            result.reports, result.anchor_failures = sealed.reports, sealed.anchor_failures

    def _taken_over(self, stack: str) -> None:
        for observer in self.observers:
            observer.lease_taken_over(stack)


def _account_id(contexts: Mapping[str, Context]) -> str:
    return next(iter(contexts.values())).account_id if contexts else ""
