"""A run's seal: what it did, counted and written into the chain, and the outcome its
actions come to."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from controller.aws.clients import ClientFactory
from controller.aws.context import Context
from controller.engine import run_facts, waivers
from controller.engine.outcome import APPLIED, FAILED, PENDING, SKIPPED, Outcome
from controller.engine.plan import Plan
from controller.engine.run_result import RunResult
from controller.errors import LockError
from controller.model import ActionType
from controller.specs import guardrails
from controller.state.store import Store

A = ActionType


def seal(
    store: Store,
    run_id: int,
    plan: Plan,
    outcome: str,
    outcomes: Mapping[str, Outcome],
    aws: tuple[ClientFactory, Mapping[str, Context]],
    started: float,
    extra_errors: Sequence[str] = (),
) -> RunResult:
    """The run sealed with its counts, calls, errors and facts; LockError when another
    plumb sealed it first."""
    clients, contexts = aws
    identity = run_facts.aws_identity(contexts)  # before the count: its call is counted
    seconds = round(time.monotonic() - started, 3)
    calls = clients.counter.snapshot()
    counts = plan.counts()
    counts["failed"] = sum(1 for o in outcomes.values() if o.status == FAILED)
    try:
        run_hash = store.chain.seal(
            run_id,
            outcome,
            counts,
            calls,
            {"seconds": seconds},
            _errors(plan, outcomes, extra_errors),
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
    return RunResult(run_id, plan, outcome, dict(outcomes), calls, seconds, run_hash=run_hash)


def _errors(plan: Plan, outcomes: Mapping[str, Outcome], extra_errors: Sequence[str]) -> list[str]:
    failed = (
        f"{lid}: {o.error}" for lid, o in sorted(outcomes.items()) if o.status in (FAILED, SKIPPED)
    )
    return [*plan.errors, *extra_errors, *failed]


def outcome_of(plan: Plan, outcomes: Mapping[str, Outcome]) -> str:
    """What an apply came to, from its plan and what each action did."""
    statuses = [o.status for o in outcomes.values()]
    troubled = bool(plan.errors) or any(a.type in (A.BLOCKED, A.UNKNOWN) for a in plan.actions)
    if FAILED in statuses or SKIPPED in statuses:
        return "failed" if APPLIED not in statuses else "partial"
    if PENDING in statuses:
        return "progressing"
    if troubled:
        return "partial"
    return "succeeded" if APPLIED in statuses else "no-changes"
