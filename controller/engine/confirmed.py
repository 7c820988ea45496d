"""An apply a person confirmed at a terminal: what they were shown is what is applied.

The question is asked inside the apply's own run, under its leases. A person may take their
time over it, so before anything is written the kinds about to be written are read again
(only those) and planned once more; an action that differs from what was shown refuses the
apply, and a run another plumb sealed meanwhile writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from controller.aws.context import Context
from controller.config import Settings
from controller.engine.desired import Desired
from controller.engine.observe import Observation, observe_all
from controller.engine.plan import Plan, PlanOptions, build_plan
from controller.engine.plan_state import StoreState
from controller.engine.planfile import SavedPlan, plan_to_json
from controller.errors import LockError
from controller.state.store import Store


def as_shown(
    shown: Plan,
    desired: Desired,
    options: PlanOptions,
    contexts: dict[str, Context],
    store: Store,
    settings: Settings,
    account: Callable[[], str],
) -> Plan:
    """The plan again, on the kinds it writes read afresh; PlanError (stale) when any
    action differs from `shown`."""
    kinds = {a.kind for a in shown.changes}
    fresh = observe_all(desired.resources, contexts, settings.workers, kinds)
    kept = {k: o for k, o in shown.observation.observed.items() if o.kind not in kinds}
    failed = {k: v for k, v in shown.observation.failed.items() if k[1] not in kinds}
    merged = Observation({**kept, **fresh.observed}, {**failed, **fresh.failed})
    state = StoreState(store)
    again = build_plan(desired.resources, desired.policies, merged, account, state, options)
    SavedPlan(plan_to_json(shown)).check_fresh(again)
    return again


def still_open(store: Store, run_id: int) -> None:
    """A question left open a day may find its run sealed by another plumb (its lease lost):
    then nothing is written under it."""
    if all(int(r["id"]) != run_id for r in store.chain.unsealed()):
        raise LockError(
            f"run {run_id} was sealed as interrupted by another plumb meanwhile (it was "
            f"open too long); nothing was applied: see `plumb report {run_id}`"
        )
