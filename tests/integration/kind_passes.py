"""Passes of one kind's reconciler against moto, as the per-kind tests walk them: the
create their fixtures start from, passes whose calls are counted (a no-op one among them),
the repair of drift made by hand, a pass after plumb's state is lost, one counted observe,
and a delete EC2 refuses for now."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pytest
from botocore.stub import Stubber

from controller.aws.clients import ClientFactory
from controller.aws.context import Context
from controller.errors import TransientError
from controller.kinds.base import BaseReconciler
from controller.kinds.diff import diff
from controller.model import Observed, Resource
from tests.conftest import REGION, count_calls, reconcile_once

# A user tag's value changed and a tag added, by hand: the drift assert_tags_repaired expects.
HAND_TAGS = {"CostCenter": "9999", "added": "by hand"}


def create_one(rec: BaseReconciler, res: Resource, ctx: Context) -> Resource:
    """`res`, made by one pass over it alone; that pass must have planned a create."""
    actions, _ = reconcile_once(rec, [res], ctx)
    assert actions == {res.logical_id: "create"}
    return res


def pass_calls(rec: BaseReconciler, res: Resource, ctx: Context) -> tuple[int, dict[str, int]]:
    """(writes, calls by operation) of one pass over `res` alone."""
    return count_calls(ctx, lambda: reconcile_once(rec, [res], ctx))


def repair_calls(
    rec: BaseReconciler, res: Resource, ctx: Context, path: str
) -> tuple[int, dict[str, int]]:
    """(writes, calls) of the pass that repairs drift made by hand, which must show on
    `path` alone before it and be gone after it."""
    assert diff(res, rec.observe([res], ctx)[res.logical_id]).paths == [path]
    repaired = pass_calls(rec, res, ctx)
    assert not diff(res, rec.observe([res], ctx)[res.logical_id]), "drift left after the pass"
    return repaired


def assert_tags_repaired(
    rec: BaseReconciler, res: Resource, ctx: Context, service: str
) -> dict[str, int]:
    """HAND_TAGS put on `res` are drift on tags alone, repaired with one TagResource (the
    changed value) and one UntagResource (the added key) and no other write; the repair's
    calls by operation."""
    writes, calls = repair_calls(rec, res, ctx, "tags")
    assert writes == 2
    assert calls[f"{service}:TagResource"] == calls[f"{service}:UntagResource"] == 1
    return calls


def once_each(service: str, *operations: str) -> dict[str, int]:
    """Calls by operation ("ecr:DescribeRepositories") of a pass that calls each of
    `service`'s `operations` once."""
    return {f"{service}:{op}": 1 for op in operations}


def observe_counted(
    rec: BaseReconciler,
    made: Sequence[Resource],
    ctx: Context,
    desired: Sequence[Resource] | None = None,
) -> tuple[dict[str, Observed], dict[str, int]]:
    """(what one observe of `desired` found, that observe's calls by operation), `desired`
    being `made` unless told; it must find every one of `made`, whether desired or orphaned."""
    found: dict[str, Observed] = {}
    wanted = list(made if desired is None else desired)
    _, ops = count_calls(ctx, lambda: found.update(rec.observe(wanted, ctx)))
    assert set(found) == {r.logical_id for r in made}
    return found, ops


def after_lost_state(
    rec: BaseReconciler, wanted: Sequence[Resource], stacks: Collection[str] = ("acme-prod",)
) -> dict[str, Observed]:
    """What a pass over `wanted` observed with no memory of earlier passes (new clients, a
    new Context, as when plumb's state is lost): each found by its tags, none made again."""
    fresh = Context(ClientFactory(max_attempts=1), REGION, set(stacks))
    actions, observed = reconcile_once(rec, wanted, fresh)
    assert actions == {r.logical_id: "noop" for r in wanted}
    return observed


def assert_ec2_delete_transient(
    rec: BaseReconciler,
    found: Observed,
    ctx: Context,
    refused: tuple[str, str, str],
    answered: Sequence[str] = (),
) -> None:
    """A delete that EC2 refuses for now, (operation, code, message) stubbed where moto
    would let it through, after `answered` operations succeed, is transient: retried later."""
    with Stubber(ctx.ec2) as stub:
        for operation in answered:
            stub.add_response(operation, {})
        stub.add_client_error(*refused)
        with pytest.raises(TransientError):
            rec.delete(found, ctx)


def actions_and_writes(
    rec: BaseReconciler, wanted: Sequence[Resource], ctx: Context
) -> tuple[dict[str, str], int]:
    """(action by logical id, writes) of one pass over `wanted`."""
    passes: list[tuple[dict[str, str], dict[str, Observed]]] = []
    writes, _ = count_calls(ctx, lambda: passes.append(reconcile_once(rec, wanted, ctx)))
    return passes[0][0], writes


def noop_calls(rec: BaseReconciler, res: Resource, ctx: Context) -> tuple[int, dict[str, int]]:
    """(writes, calls by operation) of one pass over `res` alone, which must find nothing
    to change."""
    passes: list[dict[str, str]] = []
    counted = count_calls(ctx, lambda: passes.append(reconcile_once(rec, [res], ctx)[0]))
    assert passes == [{res.logical_id: "noop"}]
    return counted
