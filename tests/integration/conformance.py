"""The life every registered kind goes through in the conformance suite, shared by the
suite itself (test_conformance.py) and by its check that plumb's IAM policy covers every
call a kind makes, on the resources it makes it on; and what the rest of the contract needs:
the engine's plan for a sample, the immutable fields a schema names and a second value for
each, and, in one place each, the fields left unvaried and the known gaps, with why."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from controller.aws.clients import is_read
from controller.aws.context import Context
from controller.engine.observe import Observation
from controller.engine.plan import Plan, PlanOptions, build_plan
from controller.kinds import registry
from controller.kinds.base import BaseReconciler
from controller.kinds.diff import diff
from controller.kinds.fields import rules_for, schema_for, snake
from controller.kinds.schemas import schema_registry
from controller.model import Observed, Resource
from controller.specs.policy import GuardrailException, StackPolicy
from tests.conformance import Sample, sample_for
from tests.conftest import count_calls
from tests.integration.iam_names import touched

registry.load_all()
KINDS = sorted(registry.REGISTRY)
# What the engine calls on a reconciler: the calls plumb makes, as opposed to the ones a
# sample makes behind its back (building a VPC for a subnet, a change by hand).
VERBS = ("observe", "observe_one", "create", "update", "release", "delete")
# IAM prefix -> the boto3 clients that call it, where the names differ.
CLIENTS = {"elasticloadbalancing": ("elbv2",), "rds": ("docdb", "rds")}


# Immutable fields the suite cannot give a second value: each reason, in this one place.
UNVARIED = {
    ("CacheReplicationGroup", "engine"): "the schema allows one value, redis",
    ("CacheReplicationGroup", "numCacheClusters"): "the schema allows one value, 1",
    ("EcsService", "launchType"): "the schema allows one value, FARGATE",
    ("ElasticIp", "domain"): "the schema allows one value, vpc",
}

# Contract cases a kind fails today, each a strict xfail: fixed, the case passes and
# pytest fails until its line here goes.
KNOWN_GAPS: dict[tuple[str, str], str] = {}

# Kinds whose create, meeting someone else's resource of its name, fails transient by
# design (the refusal of the others is terminal: a retry cannot help), and why.
RETRIED_REFUSALS = {
    "CacheReplicationGroup": "its own group still being deleted answers the same code",
}


def sample_of(kind: str) -> Sample:
    sample = sample_for(kind)
    assert sample is not None, (
        f"{kind} is registered without a conformance sample: add SAMPLE to "
        f"tests/conformance/{snake(kind)}.py"
    )
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

    prefixes = {a.split(":", 1)[0] for a in rec.descriptor.iam.actions}
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
    assert not schema_errors(kind, desired.spec), schema_errors(kind, desired.spec)
    assert observe(rec, desired, ctx) is None, "observed before it was created"

    first = rec.create(desired, ctx)
    if rec.physical_name(desired):
        # A create retried after its answer was lost meets its own resource: adopted, once.
        again = rec.create(desired, ctx)
        assert again.owned and again.physical_id == first.physical_id, "a second copy"
        assert not diff(desired, again), f"adopted, not repaired: {diff(desired, again)}"
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


# -- the rest of the contract: orphans, foreign names, replace ----------------------------


def plan_for(
    desired: list[Resource], found: Mapping[str, Observed], ctx: Context, **options: Any
) -> Plan:
    """The engine's plan for `desired` against what the kind observed, every stack's policy
    pruning (what is kept then says why)."""
    stacks = {r.stack for r in desired} | {o.stack for o in found.values()}
    # The guardrails are not under test: a sample's grants (a task role of no stack) pass.
    until = dt.date.today() + dt.timedelta(days=1)
    accepted = tuple(
        GuardrailException(guardrail, res.name, "conformance sample", "tests", until)
        for res in desired
        for guardrail in registry.GUARDRAIL_NAMES
    )
    return build_plan(
        desired,
        {stack: StackPolicy(prune=True, exceptions=accepted) for stack in stacks},
        Observation(dict(found)),
        lambda: ctx.account_id,
        options=PlanOptions(**options),
    )


def immutable_fields(kind: str) -> list[tuple[str, ...]]:
    """The paths of the fields the kind's schema marks `x-plumb-immutable` (through nested
    objects' properties)."""

    def walk(node: Mapping[str, Any], path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        for name, sub in (node.get("properties") or {}).items():
            if sub.get("x-plumb-immutable"):
                yield (*path, name)
            else:
                yield from walk(sub, (*path, name))

    return list(walk(schema_for(kind), ()))


def with_value(spec: Mapping[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    head, *rest = path
    inner = spec.get(head) or {}
    return {**spec, head: with_value(inner, tuple(rest), value) if rest else value}


def value_at(spec: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for name in path:
        spec = spec.get(name) if isinstance(spec, Mapping) else None
    return spec


def schema_errors(kind: str, spec: Mapping[str, Any]) -> list[str]:
    """What the kind's schema says is wrong with `spec`, one "path: message" each."""
    validator = Draft202012Validator(schema_for(kind), registry=schema_registry())
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(spec)
    ]


def varied(kind: str, desired: Resource, found: Observed, path: tuple[str, ...]) -> Any:
    """A second value for an immutable field that the kind's schema accepts: the sample's
    own (`Sample.other`), else the first of another enum member, the boolean flipped, the
    number one further, the name with "-2" or "2" (one leaf of an object at a time). None
    when there is none."""
    current = value_at(desired.spec, path)
    current = value_at(found.spec, path) if current is None else current
    declared = sample_of(kind).other
    if ".".join(path) in declared:
        candidates: Iterable[Any] = [declared[".".join(path)]]
    else:
        candidates = _candidates(current, _schema_at(schema_for(kind), path))
    for value in candidates:
        if value != current and not schema_errors(kind, with_value(desired.spec, path, value)):
            return value
    return None


def _schema_at(schema: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any]:
    for name in path:
        schema = (schema.get("properties") or {}).get(name) or {}
    return schema


def _candidates(value: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    yield from (v for v in schema.get("enum", ()) if v != value)
    if isinstance(value, bool):
        yield not value
    elif isinstance(value, int):
        yield from (value + 1, value - 1)
    elif isinstance(value, str):
        yield from (f"{value}-2", f"{value}2")
    elif isinstance(value, Mapping):
        for key, leaf in value.items():
            inner = (schema.get("properties") or {}).get(key) or {}
            yield from ({**value, key: other} for other in _candidates(leaf, inner))


def replaced(desired: Resource, path: tuple[str, ...], value: Any) -> Resource:
    return dataclasses.replace(desired, spec=with_value(desired.spec, path, value))


def cases(case: str, kinds: list[str]) -> list[Any]:
    """pytest params for `kinds`, those with a known gap in `case` a strict xfail."""
    return [
        pytest.param(k, id=k, marks=pytest.mark.xfail(strict=True, reason=why))
        if (why := KNOWN_GAPS.get((case, k)))
        else pytest.param(k, id=k)
        for k in kinds
    ]
