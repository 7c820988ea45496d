"""The life every registered kind goes through in the conformance suite, shared by the
suite itself (test_conformance.py) and by its check that plumb's IAM policy covers every
call a kind makes, on the resources it makes it on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import reconcilers
from controller.aws.clients import is_read
from controller.aws.context import Context
from controller.kinds.base import BaseReconciler, Sample
from controller.kinds.diff import diff
from controller.kinds.fields import rules_for
from controller.model import Observed, Resource
from tests.conftest import count_calls
from tests.integration.iam_names import touched

reconcilers.load_all()
KINDS = sorted(reconcilers.REGISTRY)
# What the engine calls on a reconciler: the calls plumb makes, as opposed to the ones a
# sample makes behind its back (building a VPC for a subnet, a change by hand).
VERBS = ("observe", "observe_one", "create", "update", "release", "delete")
# IAM prefix -> the boto3 clients that call it, where the names differ.
CLIENTS = {"elasticloadbalancing": ("elbv2",), "rds": ("docdb", "rds")}


def sample_of(kind: str) -> Sample:
    sample = reconcilers.REGISTRY[kind].sample
    assert sample is not None, f"{kind} is registered without a conformance sample"
    return sample


def observe(rec: BaseReconciler, res: Resource, ctx: Context) -> Observed | None:
    return rec.observe([res], ctx).get(res.logical_id)


def writes(ops: dict[str, int]) -> Counter[str]:
    """Write operations by botocore name ("ModifyVpcAttribute"), the service left off."""
    names = (op.split(":", 1)[1] for op in ops)
    return Counter(
        {name: n for name, n in zip(names, ops.values(), strict=True) if not is_read(name)}
    )


def record_verbs(rec: BaseReconciler, ctx: Context) -> set[str]:
    """Every "service:Operation" the reconciler's verbs call from now on, failed calls too;
    what its sample does around them is left out."""
    seen: set[str] = set()
    counter = ctx.clients.counter

    def recorded(verb: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            before = counter.snapshot()["byOperation"]
            try:
                return verb(*args, **kwargs)
            finally:
                after = counter.snapshot()["byOperation"]
                seen.update(op for op, n in after.items() if n > before.get(op, 0))

        return call

    for name in VERBS:
        setattr(rec, name, recorded(getattr(rec, name)))
    return seen


def record_resources(rec: BaseReconciler, ctx: Context) -> list[tuple[str, str, str]]:
    """(service, operation, ARN) of every resource the reconciler's verbs name in a call
    from now on (iam_names.touched), for the check that the policy's ARNs cover them."""
    seen: list[tuple[str, str, str]] = []
    active: list[bool] = []

    def on_params(params: dict[str, Any], model: Any, **_: Any) -> None:
        if active:
            service = model.service_model.service_name
            for arn in touched(service, model.name, params, ctx.region):
                seen.append((service, model.name, arn))

    prefixes = {a.split(":", 1)[0] for a in rec.iam_actions}
    for prefix in prefixes:
        for service in CLIENTS.get(prefix, (prefix,)):
            ctx.client(service).meta.events.register("provide-client-params", on_params)

    def recorded(verb: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            active.append(True)
            try:
                return verb(*args, **kwargs)
            finally:
                active.pop()

        return call

    for name in VERBS:
        setattr(rec, name, recorded(getattr(rec, name)))
    return seen


def live(kind: str, rec: BaseReconciler, ctx: Context) -> Resource:
    """Create, read back, no-op, drift, repair and delete one resource of `kind`; the
    desired resource it went through that life for."""
    sample = sample_of(kind)
    desired = sample.build(ctx)
    assert observe(rec, desired, ctx) is None, "observed before it was created"

    first = rec.create(desired, ctx)
    if rec.physical_name(desired):
        # A create retried after its answer was lost meets its own resource: adopted, once.
        again = rec.create(desired, ctx)
        assert again.owned and again.physical_id == first.physical_id, "a second copy"
    found = observe(rec, desired, ctx)
    assert found is not None and found.owned, "not observed as owned after create"
    managed = [k for k in desired.spec if not rules_for(kind).inherited((k,), "write_only")]
    missing = [k for k in managed if k not in found.spec]
    assert not missing, f"managed fields not read back: {missing}"
    assert not diff(desired, found), f"differs right after create: {diff(desired, found)}"

    seen: list[Observed | None] = []
    wrote, ops = count_calls(ctx, lambda: seen.append(observe(rec, desired, ctx)))
    assert wrote == 0, f"a no-op observe wrote: {ops}"
    assert seen[0] is not None and not diff(desired, seen[0]), "a second observe finds drift"

    sample.mutate(ctx, found)
    drifted = observe(rec, desired, ctx)
    assert drifted is not None
    delta = diff(desired, drifted)
    assert delta, f"the out-of-band change to {sample.drifted} went unnoticed"
    assert {c.path for c in delta.changes} == {sample.drifted}, delta.paths

    repaired: list[Observed] = []
    _, ops = count_calls(ctx, lambda: repaired.append(rec.update(desired, drifted, delta, ctx)))
    assert writes(ops) == Counter(sample.repair), (
        f"repair wrote {dict(writes(ops))}, not {sample.repair}"
    )
    assert not diff(desired, repaired[0]), "the update's read-back still differs"
    again = observe(rec, desired, ctx)
    assert again is not None and not diff(desired, again), "drift is back after the repair"

    rec.release(again, ctx)
    rec.delete(again, ctx)
    assert observe(rec, desired, ctx) is None, "still observed after delete"
    return desired
