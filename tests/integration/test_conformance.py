"""The behavioural conformance suite: every registered kind, one contract, against moto.

For each kind its sample (tests/conformance/, `Sample`) is taken through the whole life of
a resource: create; read back every managed field as the spec says; observe again and
find nothing to do, with no write; one out-of-band change found as drift on the field the
sample names; one update that repairs it with exactly the writes the sample names and
leaves nothing to do; delete, after which nothing of it is observed. A kind whose
resources have fixed names also shows that a create repeated after a lost answer adopts
the resource instead of failing or making a second one. Every call the kind's verbs made
in that life must be granted by `plumb iam-policy --kind` for it, the IAM names worked out
apart from what the kind declares (iam_names.py), and on the ARN of the resource the call
named, with the policy scoped to the sample's names (EC2's ids are scoped by tags, which
moto does not evaluate).

The rest of the contract, for every kind: what it owns is found with nothing desired (an
orphan, for prune to see); deleting what is already gone is no error; each field its schema
marks `x-plumb-immutable`, changed, makes the engine plan a replace (or refuse one that
would destroy data under deletionPolicy Retain), never an update. A kind whose resources
have names the spec fixes also shows that a resource of that name made without plumb's tags
is observed as not owned, blocked in the plan, invisible to prune and left as it was by a
create that meets it. A kind registered without a sample fails here, so a new kind cannot
skip the contract.
"""

from __future__ import annotations

import pytest

from controller.aws.clients import is_read
from controller.aws.context import Context
from controller.errors import TerminalError
from controller.kinds import iam_policy, registry
from controller.kinds.base import BaseReconciler
from controller.kinds.iam_scope import Target
from controller.model import ActionType, Observed, Resource
from tests.conformance import sample_for
from tests.conftest import count_calls
from tests.integration.conformance import (
    KINDS,
    RETRIED_REFUSALS,
    UNVARIED,
    cases,
    immutable_fields,
    live,
    observe,
    plan_for,
    record_resources,
    record_verbs,
    replaced,
    sample_of,
    varied,
)
from tests.integration.iam_names import not_allowed_on, not_granted

A = ActionType
FOREIGN = [k for k in KINDS if (sample := sample_for(k)) is not None and sample.foreign]
IMMUTABLE = [k for k in KINDS if immutable_fields(k)]


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_has_a_conformance_sample(kind: str) -> None:
    sample = sample_of(kind)
    assert sample.drifted and sample.repair, f"{kind}'s sample names no drift or repair"
    fields = {".".join(path) for path in immutable_fields(kind)}
    assert set(sample.other) <= fields, f"not immutable in {kind}'s schema: {sample.other}"


def test_a_kind_without_a_sample_fails_the_suite() -> None:
    with pytest.raises(AssertionError, match="without a conformance sample"):
        sample_of("KindWithoutSample")


def test_every_field_left_unvaried_is_an_immutable_field() -> None:
    stale = [key for key in UNVARIED if key[1:] not in immutable_fields(key[0])]
    assert not stale, f"UNVARIED names no immutable field: {stale}"


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_conforms(kind: str, ctx: Context) -> None:
    rec = registry.reconciler_for(kind)
    calls = record_verbs(rec, ctx)
    resources = record_resources(rec, ctx)
    desired = live(kind, rec, ctx)
    if rec.physical_name(desired):
        assert sample_of(kind).foreign, f"{kind} fixes its names: its sample needs `foreign`"
    # `plumb iam-policy --kind K` must grant every call K's life made (issue 10).
    missing = not_granted(calls, iam_policy.build([kind]))
    assert not missing, f"plumb iam-policy --kind {kind} does not grant: {missing}"
    # ... on the resources it made them on, with the names scoped to the sample's (issue 17).
    policy = iam_policy.build([kind], _target(rec, desired, ctx))
    refused = sorted({why for call in resources if (why := not_allowed_on(call, policy))})
    assert not refused, f"the policy scoped to {kind}'s sample does not allow {refused}"


def _target(rec: BaseReconciler, desired: Resource, ctx: Context) -> Target:
    name = rec.iam_name(desired)
    names = {rec.kind: [name]} if name else {}
    return Target(region=ctx.region, names=names, stacks=(desired.stack,))


@pytest.mark.parametrize("kind", ["Bucket", "Role", "Secret", "LoadBalancer"])
def test_a_policy_for_other_names_is_caught(kind: str, ctx: Context) -> None:
    """The resource check can fail: scoped to names the sample does not use, the same
    policy refuses its calls."""
    rec = registry.reconciler_for(kind)
    resources = record_resources(rec, ctx)
    live(kind, rec, ctx)
    other = Target(region=ctx.region, names={kind: ["someone-else-*"]}, stacks=("other",))
    policy = iam_policy.build([kind], other)
    written = [call for call in resources if not is_read(call[1])]
    assert written and all(not_allowed_on(call, policy) for call in written), written


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_an_orphan_is_found_with_nothing_desired(kind: str, ctx: Context) -> None:
    """What left the spec is still found by its tags, for prune to delete or report."""
    rec = registry.reconciler_for(kind)
    desired = sample_of(kind).build(ctx)
    made = rec.create(desired, ctx)

    found = rec.observe([], ctx).get(desired.logical_id)
    assert found is not None and found.owned, "an orphan of a stack in scope is not found"
    assert found.physical_id == made.physical_id
    assert desired.logical_id not in rec.observe([], ctx.only({"acme-staging"}))
    [action] = plan_for([], {desired.logical_id: found}, ctx).actions
    assert (action.logical_id, action.physical_id) == (desired.logical_id, made.physical_id)
    assert action.type in (A.DELETE, A.ORPHAN), action


@pytest.mark.parametrize("kind", cases("gone", KINDS))
def test_deleting_what_is_already_gone_is_no_error(kind: str, ctx: Context) -> None:
    rec = registry.reconciler_for(kind)
    desired = sample_of(kind).build(ctx)
    rec.create(desired, ctx)
    found = observe(rec, desired, ctx)
    assert found is not None
    rec.release(found, ctx)
    rec.delete(found, ctx)

    rec.release(found, ctx)
    rec.delete(found, ctx)  # a run that observed it before someone else deleted it
    assert observe(rec, desired, ctx) is None


@pytest.mark.parametrize("kind", FOREIGN, ids=FOREIGN)
def test_a_foreign_resource_of_the_same_name_is_not_owned(kind: str, ctx: Context) -> None:
    """Someone else's resource under the spec's name: reported, never planned on or pruned."""
    rec = registry.reconciler_for(kind)
    desired, theirs = _foreign(kind, ctx)
    seen: list[Observed | None] = []
    wrote, ops = count_calls(ctx, lambda: seen.append(observe(rec, desired, ctx)))
    assert wrote == 0, f"observing it wrote: {ops}"
    assert seen[0] == theirs and not theirs.owned, "a resource without plumb's tags is owned"
    assert desired.logical_id not in rec.observe([], ctx), "prune would see it"
    [action] = plan_for([desired], {desired.logical_id: theirs}, ctx).actions
    assert action.type is A.BLOCKED and "not owned" in action.reason, action


@pytest.mark.parametrize("kind", cases("foreign", FOREIGN))
def test_a_create_meeting_a_foreign_resource_refuses_it(kind: str, ctx: Context) -> None:
    """A create that meets it (its observe raced someone's create) refuses, for good (a
    terminal error: a retry cannot help), and leaves it as it was."""
    rec = registry.reconciler_for(kind)
    desired, theirs = _foreign(kind, ctx)
    with pytest.raises(Exception) as refused:
        rec.create(desired, ctx)
    after = observe(rec, desired, ctx)
    assert after is not None and after.physical_id == theirs.physical_id and not after.owned
    assert (after.spec, after.tags) == (theirs.spec, theirs.tags), "the create changed it"
    terminal = isinstance(rec.classify(refused.value), TerminalError)
    assert terminal is (kind not in RETRIED_REFUSALS), f"classified: {refused.value!r}"


def _foreign(kind: str, ctx: Context) -> tuple[Resource, Observed]:
    """The sample's desired resource, and what its `foreign` made under its name, observed."""
    sample = sample_of(kind)
    desired = sample.build(ctx)
    assert sample.foreign is not None
    sample.foreign(ctx, desired)
    theirs = observe(registry.reconciler_for(kind), desired, ctx)
    assert theirs is not None, "the resource made under the spec's name is not observed"
    return desired, theirs


@pytest.mark.parametrize("kind", IMMUTABLE, ids=IMMUTABLE)
def test_an_immutable_field_changed_is_a_replace(kind: str, ctx: Context) -> None:
    rec = registry.reconciler_for(kind)
    desired = sample_of(kind).build(ctx)
    found = rec.create(desired, ctx)
    lid = desired.logical_id
    refused = rec.descriptor.stateful and desired.deletion_policy == "Retain"
    unproved = []
    for path in immutable_fields(kind):
        if (kind, *path) in UNVARIED:
            continue
        field = ".".join(path)
        value = varied(kind, desired, found, path)
        if value is None:
            unproved.append(field)
            continue
        changed = replaced(desired, path, value)
        [action] = plan_for([changed], {lid: found}, ctx, allow_replace=True).actions
        want = A.BLOCKED if refused else A.REPLACE
        assert action.type is want, f"{field} changed: {action.type} ({action.reason})"
        named = action.reason.split(" cannot change in place")[0]
        assert named.endswith(field) or f"{field}." in named, action.reason
        assert all(c.immutable for c in action.changes if c.path.startswith(field))
        [held] = plan_for([changed], {lid: found}, ctx).actions
        assert held.type is A.BLOCKED and "replace refused" in held.reason, held
    assert not unproved, f"no second value fits the schema: give Sample.other for {unproved}"
