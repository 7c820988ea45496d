"""The behavioural conformance suite: every registered kind, one contract, against moto.

For each kind its sample (controller/kinds/base.py `Sample`) is taken through the whole life of
a resource: create; read back every managed field as the spec says; observe again and
find nothing to do, with no write; one out-of-band change found as drift on the field the
sample names; one update that repairs it with exactly the writes the sample names and
leaves nothing to do; delete, after which nothing of it is observed. A kind whose
resources have fixed names also shows that a create repeated after a lost answer adopts
the resource instead of failing or making a second one. Every call the kind's verbs made
in that life must be granted by `plumb iam-policy --kind` for it, the IAM names worked out
apart from what the kind declares (iam_names.py), and on the ARN of the resource the call
named, with the policy scoped to the sample's names (EC2's ids are scoped by tags, which
moto does not evaluate). A kind registered without a sample
fails here, so a new kind cannot skip the contract.
"""

from __future__ import annotations

import pytest

import reconcilers
from controller.aws.clients import is_read
from controller.aws.context import Context
from controller.kinds import iam_policy
from controller.kinds.base import BaseReconciler
from controller.kinds.iam_scope import Target
from controller.model import Resource
from tests.integration.conformance import KINDS, live, record_resources, record_verbs, sample_of
from tests.integration.iam_names import not_allowed_on, not_granted


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_has_a_conformance_sample(kind: str) -> None:
    sample = sample_of(kind)
    assert sample.drifted and sample.repair, f"{kind}'s sample names no drift or repair"


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_conforms(kind: str, ctx: Context) -> None:
    rec = reconcilers.reconciler_for(kind)
    calls = record_verbs(rec, ctx)
    resources = record_resources(rec, ctx)
    desired = live(kind, rec, ctx)
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
    rec = reconcilers.reconciler_for(kind)
    resources = record_resources(rec, ctx)
    live(kind, rec, ctx)
    other = Target(region=ctx.region, names={kind: ["someone-else-*"]}, stacks=("other",))
    policy = iam_policy.build([kind], other)
    written = [call for call in resources if not is_read(call[1])]
    assert written and all(not_allowed_on(call, policy) for call in written), written
