"""CacheSubnetGroup: two subnets; a description changed by hand is repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    subnet_ids = fx.subnets(ctx, fx.vpc(ctx))
    spec = {"name": "acme-prod-sample-cache", "description": "conformance sample"}
    return fx.resource(ctx, "CacheSubnetGroup", "cache-subnets", {**spec, "subnetIds": subnet_ids})


def _describe_by_hand(ctx: Context, found: Observed) -> None:
    ctx.elasticache.modify_cache_subnet_group(
        CacheSubnetGroupName=found.physical_id, CacheSubnetGroupDescription="changed by hand"
    )


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.elasticache.create_cache_subnet_group(
        CacheSubnetGroupName=desired.spec["name"],
        CacheSubnetGroupDescription="theirs",
        SubnetIds=list(desired.spec["subnetIds"]),
    )


SAMPLE = Sample(
    _sample, _describe_by_hand, "description", ("ModifyCacheSubnetGroup",), foreign=_foreign
)
