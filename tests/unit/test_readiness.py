"""Waiting for what is becoming ready: one budget for the run, backoff, dependents pending."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import pytest

from controller.engine.apply import Applier
from controller.engine.observe import Observation
from controller.engine.outcome import APPLIED, PENDING
from controller.engine.plan import build_plan
from controller.engine.readiness import Waiter
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor
from controller.kinds.registry import REGISTRY
from controller.model import TAG_ID, TAG_STACK, Observed, Resource
from controller.specs.policy import StackPolicy

STACK = "acme-prod"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _observed(name: str, ready: bool) -> Observed:
    lid = f"{STACK}/{name}"
    return Observed(
        kind="Slow",
        logical_id=lid,
        physical_id=f"phys-{name}",
        spec={},
        attrs={"id": f"id-{name}"},
        tags={TAG_STACK: STACK, TAG_ID: lid},
        ready=ready,
    )


class Slow(BaseReconciler):
    """Becomes ready after `polls_until_ready` read-backs."""

    descriptor = Descriptor("Slow", "ec2", not_found_codes=frozenset({"NotFound"}))
    polls_until_ready = 2
    polls = 0

    def observe_one(self, desired: Resource, ctx: object, physical_id: str = "") -> Observed:
        Slow.polls += 1
        return _observed(desired.name, ready=Slow.polls >= Slow.polls_until_ready)


class Child(BaseReconciler):
    descriptor = Descriptor("Child", "ec2", not_found_codes=frozenset({"NotFound"}))

    def create(self, desired: Resource, ctx: object) -> Observed:
        return dataclasses.replace(_observed(desired.name, True), kind="Child")


@pytest.fixture(autouse=True)
def fake_kinds() -> Iterator[None]:
    REGISTRY.update(Slow=Slow, Child=Child)
    Slow.polls = 0
    yield
    REGISTRY.pop("Slow")
    REGISTRY.pop("Child")


class Journal:
    def __init__(self) -> None:
        self.changes: list[tuple[str, str]] = []

    def mark_create_pending(self, *args: object) -> None: ...
    def mark_created(self, *args: object) -> None: ...

    def record_change(self, run_id: int, action: object, outcome: str, *rest: object) -> None:
        self.changes.append((action.logical_id, outcome))  # type: ignore[attr-defined]


def _apply(budget: float, clock: FakeClock) -> dict[str, str]:
    db = Resource("Slow", f"{STACK}/db", {}, "us-east-1")
    app = Resource("Child", f"{STACK}/app", {"db": {"ref": "db", "attr": "id"}}, "us-east-1")
    obs = Observation({db.logical_id: _observed("db", ready=False)})
    plan = build_plan([db, app], {STACK: StackPolicy()}, obs, lambda: "123456789012")
    waiter = Waiter(budget, clock=clock, sleep=clock.sleep)
    applier = Applier(plan, {"us-east-1": None}, Journal(), 1, lambda: "1", 2, None, waiter)  # type: ignore[dict-item]
    return {lid: o.status for lid, o in applier.run().items()}


def test_a_dependent_waits_for_its_dependency_within_the_budget() -> None:
    clock = FakeClock()
    outcomes = _apply(300, clock)
    assert outcomes[f"{STACK}/app"] == APPLIED
    assert clock.slept == [2.0], "looks at once, then backs off between polls"


def test_past_the_budget_the_dependent_stays_pending() -> None:
    Slow.polls_until_ready = 100
    clock = FakeClock()
    outcomes = _apply(60, clock)
    assert outcomes[f"{STACK}/app"] == PENDING
    assert sum(clock.slept) == pytest.approx(60), "never waits past the budget"
    Slow.polls_until_ready = 2


def test_a_zero_budget_never_waits() -> None:
    clock = FakeClock()
    assert _apply(0, clock)[f"{STACK}/app"] == PENDING
    assert clock.slept == [] and Slow.polls == 0


def test_the_budget_is_shared_by_every_waiter() -> None:
    clock = FakeClock()
    waiter = Waiter(10, clock=clock, sleep=clock.sleep)
    never: Sequence[Observed] = [_observed("x", False)]
    waiter.wait("a", never[0], lambda: never[0])
    waiter.wait("b", never[0], lambda: never[0])
    assert sum(clock.slept) == pytest.approx(10)
