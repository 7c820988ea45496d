"""The behavioural conformance suite: every registered kind, one contract, against moto.

For each kind its sample (reconcilers/base.py `Sample`) is taken through the whole life of
a resource: create; read back every managed field as the spec says; observe again and
find nothing to do, with no write; one out-of-band change found as drift on the field the
sample names; one update that repairs it with exactly the writes the sample names and
leaves nothing to do; delete, after which nothing of it is observed. A kind whose
resources have fixed names also shows that a create repeated after a lost answer adopts
the resource instead of failing or making a second one. A kind registered
without a sample fails here, so a new kind cannot skip the contract.
"""

from __future__ import annotations

from collections import Counter

import pytest

import reconcilers
from controller.aws import is_read
from controller.context import Context
from controller.diff import diff
from controller.fields import rules_for
from controller.model import Observed, Resource
from reconcilers.base import BaseReconciler, Sample
from tests.conftest import count_calls

reconcilers.load_all()
KINDS = sorted(reconcilers.REGISTRY)


def _sample(kind: str) -> Sample:
    sample = reconcilers.REGISTRY[kind].sample
    assert sample is not None, f"{kind} is registered without a conformance sample"
    return sample


def _observe(rec: BaseReconciler, res: Resource, ctx: Context) -> Observed | None:
    return rec.observe([res], ctx).get(res.logical_id)


def _writes(ops: dict[str, int]) -> Counter[str]:
    """Write operations by botocore name ("ModifyVpcAttribute"), the service left off."""
    names = (op.split(":", 1)[1] for op in ops)
    return Counter(
        {name: n for name, n in zip(names, ops.values(), strict=True) if not is_read(name)}
    )


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_has_a_conformance_sample(kind: str) -> None:
    sample = _sample(kind)
    assert sample.drifted and sample.repair, f"{kind}'s sample names no drift or repair"


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_conforms(kind: str, ctx: Context) -> None:
    sample = _sample(kind)
    rec = reconcilers.reconciler_for(kind)
    desired = sample.build(ctx)
    assert _observe(rec, desired, ctx) is None, "observed before it was created"

    first = rec.create(desired, ctx)
    if rec.physical_name(desired):
        # A create retried after its answer was lost meets its own resource: adopted, once.
        again = rec.create(desired, ctx)
        assert again.owned and again.physical_id == first.physical_id, "a second copy"
    found = _observe(rec, desired, ctx)
    assert found is not None and found.owned, "not observed as owned after create"
    managed = [k for k in desired.spec if not rules_for(kind).inherited((k,), "write_only")]
    missing = [k for k in managed if k not in found.spec]
    assert not missing, f"managed fields not read back: {missing}"
    assert not diff(desired, found), f"differs right after create: {diff(desired, found)}"

    seen: list[Observed | None] = []
    writes, ops = count_calls(ctx, lambda: seen.append(_observe(rec, desired, ctx)))
    assert writes == 0, f"a no-op observe wrote: {ops}"
    assert seen[0] is not None and not diff(desired, seen[0]), "a second observe finds drift"

    sample.mutate(ctx, found)
    drifted = _observe(rec, desired, ctx)
    assert drifted is not None
    delta = diff(desired, drifted)
    assert delta, f"the out-of-band change to {sample.drifted} went unnoticed"
    assert {c.path for c in delta.changes} == {sample.drifted}, delta.paths

    repaired: list[Observed] = []
    _, ops = count_calls(ctx, lambda: repaired.append(rec.update(desired, drifted, delta, ctx)))
    wrote = _writes(ops)
    assert wrote == Counter(sample.repair), f"repair wrote {dict(wrote)}, not {sample.repair}"
    assert not diff(desired, repaired[0]), "the update's read-back still differs"
    again = _observe(rec, desired, ctx)
    assert again is not None and not diff(desired, again), "drift is back after the repair"

    rec.release(again, ctx)
    rec.delete(again, ctx)
    assert _observe(rec, desired, ctx) is None, "still observed after delete"
