"""Plan decisions, with a fake kind so no AWS is involved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from controller.engine import planfile, run_facts
from controller.engine.observe import Observation
from controller.engine.plan import PlanOptions, StateView, build_plan
from controller.errors import PlanError
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor
from controller.kinds.registry import REGISTRY
from controller.model import TAG_DELETION_POLICY, TAG_ID, TAG_STACK, ActionType, Observed, Resource
from controller.specs.policy import StackPolicy
from controller.state.drift import DriftRecord

A = ActionType
STACK = "acme-prod"


class Widget(BaseReconciler):
    descriptor = Descriptor("Widget", "ec2", not_found_codes=frozenset({"NotFound"}))


class Vault(BaseReconciler):
    descriptor = Descriptor("Vault", "s3", not_found_codes=frozenset({"NotFound"}), stateful=True)


@pytest.fixture(autouse=True)
def fake_kinds() -> Iterator[None]:
    REGISTRY["Widget"] = Widget
    REGISTRY["Vault"] = Vault
    yield
    REGISTRY.pop("Widget")
    REGISTRY.pop("Vault")


def want(name: str, kind: str = "Widget", policy: str = "Delete", **spec: object) -> Resource:
    return Resource(
        kind=kind,
        logical_id=f"{STACK}/{name}",
        spec=spec,
        region="us-east-1",
        tags={"team": "a"},
        deletion_policy=policy,
    )


def have(
    name: str,
    kind: str = "Widget",
    owned: bool = True,
    extra_tags: dict | None = None,
    **spec: object,
) -> Observed:
    tags = {"team": "a", TAG_STACK: STACK, TAG_ID: f"{STACK}/{name}", **(extra_tags or {})}
    return Observed(
        kind=kind,
        logical_id=f"{STACK}/{name}",
        physical_id=f"phys-{name}",
        spec=spec,
        attrs={"id": f"id-{name}"},
        tags=tags if owned else {},
        owned=owned,
    )


def plan_of(
    resources: list[Resource],
    observed: list[Observed],
    policy: StackPolicy | None = None,
    failed: dict | None = None,
    options: PlanOptions | None = None,
    state: StateView | None = None,
):
    obs = Observation({o.logical_id: o for o in observed}, failed or {})
    return build_plan(
        resources, {STACK: policy or StackPolicy()}, obs, lambda: "123456789012", state, options
    )


def types(plan) -> dict[str, str]:
    return {a.name(): a.type.value for a in plan.actions}


def test_missing_is_created_and_matching_is_noop() -> None:
    plan = plan_of([want("a", size=1), want("b", size=2)], [have("b", size=2)])
    assert types(plan) == {"a": "create", "b": "noop"}


def test_fields_aws_adds_that_the_spec_omits_are_not_drift() -> None:
    plan = plan_of([want("a", size=1)], [have("a", size=1, arnSuffix="x", createdBy="aws")])
    assert types(plan) == {"a": "noop"}


def test_a_changed_field_is_an_update_with_before_and_after() -> None:
    plan = plan_of([want("a", size=2)], [have("a", size=1)])
    (action,) = plan.actions
    assert action.type is A.UPDATE
    assert [(c.path, c.before, c.after) for c in action.changes] == [("size", 1, 2)]


def test_a_resource_that_is_not_ours_is_never_taken_over() -> None:
    plan = plan_of([want("a", size=1)], [have("a", owned=False, size=1)])
    assert plan.actions[0].type is A.BLOCKED
    assert "not owned" in plan.actions[0].reason


def test_the_journal_adopts_an_untagged_resource_plumb_was_creating() -> None:
    class Journal(StateView):
        def pending_creates(self, stack: str) -> dict[str, str]:
            return {f"{STACK}/a": "phys-a"}

    plan = plan_of([want("a", size=1)], [have("a", owned=False, size=1)], state=Journal())
    assert plan.actions[0].type is A.UPDATE
    assert [c.path for c in plan.actions[0].changes] == ["tags"]


def test_a_kind_that_could_not_be_observed_is_unknown_and_blocks_dependents() -> None:
    vault = want("v", kind="Vault", size=1)
    widget = want("w", parent={"ref": "v", "attr": "id"})
    plan = plan_of([vault, widget], [], failed={("us-east-1", "Vault"): "cannot observe Vault"})
    assert types(plan) == {"v": "unknown", "w": "blocked"}
    assert plan.errors == ["cannot observe Vault"]


def test_a_failed_observation_never_deletes_with_prune_on() -> None:
    plan = plan_of(
        [], [], policy=StackPolicy(prune=True), failed={("us-east-1", "Widget"): "throttled"}
    )
    assert not [a for a in plan.actions if a.type is A.DELETE]


def test_immutable_change_is_refused_without_allow_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    from controller.kinds import diff as diff_mod
    from controller.kinds.fields import FieldRule, FieldRules

    rules = FieldRules({("cidr",): FieldRule(immutable=True)})
    monkeypatch.setattr(diff_mod, "rules_for", lambda kind: rules)
    args = ([want("a", cidr="10.1.0.0/16")], [have("a", cidr="10.0.0.0/16")])
    refused = plan_of(*args)
    assert refused.actions[0].type is A.BLOCKED and "--allow-replace" in refused.actions[0].reason
    allowed = plan_of(*args, options=PlanOptions(allow_replace=True))
    assert allowed.actions[0].type is A.REPLACE


@pytest.mark.parametrize(
    ("policy", "allow", "expected", "says"),
    [
        pytest.param("Retain", False, A.BLOCKED, "deletionPolicy is Retain", id="retain, no flag"),
        pytest.param("Retain", True, A.BLOCKED, "deletionPolicy is Retain", id="retain beats flag"),
        pytest.param("Delete", False, A.BLOCKED, "--allow-replace", id="delete, no flag"),
        pytest.param("Delete", True, A.REPLACE, "data is destroyed", id="both consents"),
    ],
)
def test_a_stateful_replace_needs_the_specs_and_the_runs_consent(
    monkeypatch: pytest.MonkeyPatch, policy: str, allow: bool, expected: A, says: str
) -> None:
    from controller.kinds import diff as diff_mod
    from controller.kinds.fields import FieldRule, FieldRules

    rules = FieldRules({("engine",): FieldRule(immutable=True)})
    monkeypatch.setattr(diff_mod, "rules_for", lambda kind: rules)
    plan = plan_of(
        [want("db", kind="Vault", policy=policy, engine="b")],
        [have("db", kind="Vault", engine="a")],
        options=PlanOptions(allow_replace=allow),
    )
    assert plan.actions[0].type is expected
    assert says in plan.actions[0].reason


def test_a_stateful_orphan_is_deleted_only_by_a_run_that_allows_it() -> None:
    policy = StackPolicy(prune=True)
    kept = plan_of([], [have("db", kind="Vault")], policy=policy)
    assert types(kept) == {"db": "orphan"} and "--allow-deletes" in kept.actions[0].reason
    allowed = plan_of(
        [], [have("db", kind="Vault")], policy=policy, options=PlanOptions(allow_deletes=True)
    )
    assert types(allowed) == {"db": "delete"}
    loop = plan_of(
        [],
        [have("db", kind="Vault")],
        policy=policy,
        options=PlanOptions(allow_deletes=True, scheduled=True),
    )
    assert types(loop) == {"db": "orphan"}


def test_orphans_are_kept_without_prune_and_deleted_with_it() -> None:
    kept = plan_of([], [have("old")])
    assert types(kept) == {"old": "orphan"}
    pruned = plan_of([], [have("old")], policy=StackPolicy(prune=True))
    assert types(pruned) == {"old": "delete"}


def test_retained_resources_are_never_pruned() -> None:
    plan = plan_of(
        [],
        [have("db", kind="Vault", extra_tags={TAG_DELETION_POLICY: "Retain"})],
        policy=StackPolicy(prune=True),
    )
    assert types(plan) == {"db": "orphan"}
    assert "Retain" in plan.actions[0].reason


def test_more_deletes_than_max_deletes_are_refused_unless_allowed() -> None:
    old = [have(f"old{i}") for i in range(4)]
    policy = StackPolicy(prune=True, max_deletes=3)
    refused = plan_of([], old, policy=policy)
    assert set(types(refused).values()) == {"blocked"}
    assert "maxDeletes" in refused.actions[0].reason
    allowed = plan_of([], old, policy=policy, options=PlanOptions(allow_deletes=True))
    assert set(types(allowed).values()) == {"delete"}
    scheduled = plan_of(
        [], old, policy=policy, options=PlanOptions(allow_deletes=True, scheduled=True)
    )
    assert set(types(scheduled).values()) == {"blocked"}, "the loop never allows a mass delete"


def test_an_unexpired_waiver_reports_drift_without_repairing_it() -> None:
    from controller.specs.policy import Waiver

    waiver = Waiver("a", "size", "sale", "ops@x", dt.date(2027, 1, 31))
    policy = StackPolicy(waivers=(waiver,))
    during = plan_of(
        [want("a", size=2)],
        [have("a", size=5)],
        policy=policy,
        options=PlanOptions(today=dt.date(2026, 12, 1)),
    )
    assert during.actions[0].type is A.NOOP and during.actions[0].waived[0].path == "size"
    after = plan_of(
        [want("a", size=2)],
        [have("a", size=5)],
        policy=policy,
        options=PlanOptions(today=dt.date(2027, 2, 1)),
    )
    assert after.actions[0].type is A.UPDATE


def test_a_field_that_keeps_reverting_is_marked_non_converging() -> None:
    class Streak(StateView):
        def drift_streak(self, stack: str, logical_id: str) -> tuple[int, list[str]]:
            return 2, ["size"]

    plan = plan_of([want("a", size=2)], [have("a", size=5)], state=Streak())
    assert plan.actions[0].type is A.BLOCKED and "non-converging" in plan.actions[0].reason


def test_self_heal_off_reports_drift_on_scheduled_runs_only() -> None:
    policy = StackPolicy(self_heal=False)
    scheduled = plan_of(
        [want("a", size=2)], [have("a", size=5)], policy=policy, options=PlanOptions(scheduled=True)
    )
    assert scheduled.actions[0].type is A.BLOCKED and "selfHeal" in scheduled.actions[0].reason
    by_hand = plan_of([want("a", size=2)], [have("a", size=5)], policy=policy)
    assert by_hand.actions[0].type is A.UPDATE


class Converged(StateView):
    """The state remembers the spec plumb last converged `a` to, and how its drift went."""

    def __init__(self, spec: Resource, streak: int = 0) -> None:
        self.hash, self.streak = spec.spec_hash(), streak

    def drift(self, stack: str, logical_id: str) -> DriftRecord:
        return DriftRecord(self.streak, ["size"] if self.streak else [], spec_hash=self.hash)


def test_a_difference_under_the_same_spec_is_drift_and_under_a_new_one_is_asked_for() -> None:
    same = plan_of([want("a", size=2)], [have("a", size=5)], state=Converged(want("a", size=2)))
    assert not same.actions[0].requested
    assert same.actions[0].explanation() == "changed outside plumb since it last converged"
    assert run_facts.drift_found(same)["count"] == 1
    new = plan_of([want("a", size=2)], [have("a", size=5)], state=Converged(want("a", size=5)))
    assert new.actions[0].type is A.UPDATE and new.actions[0].requested
    assert new.actions[0].explanation() == "", "a commit's change needs no reason"
    assert run_facts.drift_found(new) == {"count": 0, "resources": []}
    unknown = plan_of([want("a", size=2)], [have("a", size=5)], state=StateView())
    assert run_facts.drift_found(unknown)["count"] == 1, "no recorded spec: it counts as drift"


def test_a_new_spec_is_applied_though_the_field_was_fought_over_or_self_heal_is_off() -> None:
    stuck = Converged(want("a", size=7), streak=2)
    held = plan_of([want("a", size=7)], [have("a", size=5)], state=stuck)
    assert held.actions[0].type is A.BLOCKED and "non-converging" in held.actions[0].reason
    moved_on = plan_of([want("a", size=2)], [have("a", size=5)], state=stuck)
    assert moved_on.actions[0].type is A.UPDATE
    policy = StackPolicy(self_heal=False)
    loop = PlanOptions(scheduled=True)
    commit = plan_of(
        [want("a", size=2)],
        [have("a", size=5)],
        policy=policy,
        options=loop,
        state=Converged(want("a", size=5)),
    )
    assert commit.actions[0].type is A.UPDATE, "selfHeal off still applies new commits"
    drift = plan_of(
        [want("a", size=2)],
        [have("a", size=5)],
        policy=policy,
        options=loop,
        state=Converged(want("a", size=2)),
    )
    assert drift.actions[0].type is A.BLOCKED


def test_a_value_a_dependency_gets_in_this_plan_is_neither_drift_nor_the_commit() -> None:
    w = want("w", parent={"ref": "v", "attr": "id"})
    plan = plan_of([want("v", size=1), w], [have("w", parent="id-old")], state=Converged(w))
    action = plan.by_id()[f"{STACK}/w"]
    assert action.type is A.UPDATE and action.requested
    assert action.explanation() == "follows a change of what it refers to"
    assert run_facts.drift_found(plan) == {"count": 0, "resources": []}


def test_a_dependent_of_a_created_resource_shows_known_after_apply() -> None:
    plan = plan_of(
        [want("v", size=1), want("w", parent={"ref": "v", "attr": "id"})],
        [have("w", parent="id-old")],
    )
    w = plan.by_id()[f"{STACK}/w"]
    assert w.type is A.UPDATE
    assert w.changes[0].to_json()["after"] == "(known after apply)"


def test_a_saved_plan_round_trips_and_refuses_when_aws_changed(tmp_path) -> None:
    resources = [want("a", size=2)]
    plan = plan_of(resources, [have("a", size=1)])
    path = tmp_path / "plan.json"
    planfile.save(plan, path)
    saved = planfile.load(path)
    assert [r.logical_id for r in saved.resources] == [f"{STACK}/a"]
    saved.check_fresh(plan_of(saved.resources, [have("a", size=1)]))
    with pytest.raises(PlanError, match="stale"):
        saved.check_fresh(plan_of(saved.resources, [have("a", size=3)]))


def test_what_observation_noticed_is_shown_in_the_plan_once() -> None:
    import dataclasses

    note = "vpc-2 also carries plumb:id=acme-prod/a; plumb manages vpc-1 only"
    found = dataclasses.replace(have("a"), warnings=(note,))
    plan = plan_of([want("a")], [found])
    assert plan.actions[0].warnings == (note,)
    assert plan.warnings == [f"{STACK}/a: {note}"]
