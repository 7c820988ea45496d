"""CacheReplicationGroup: one encrypted Redis node; snapshots kept by hand are repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    vpc_id = fx.vpc(ctx)
    subnet_ids = fx.subnets(ctx, vpc_id)
    ctx.elasticache.create_cache_subnet_group(
        CacheSubnetGroupName="sample-redis-subnets",
        CacheSubnetGroupDescription="sample",
        SubnetIds=subnet_ids,
    )
    spec = {
        "replicationGroupId": "acme-prod-sample-redis",
        "description": "conformance sample",
        "nodeType": "cache.t3.micro",
        "engine": "redis",
        "engineVersion": "7.1",
        "numCacheClusters": 1,
        "automaticFailover": False,
        "subnetGroupName": "sample-redis-subnets",
        "securityGroupIds": [fx.security_group(ctx, vpc_id)],
        "snapshotRetentionDays": 0,
        "atRestEncryption": True,
        "transitEncryption": True,
        "port": 6379,
    }
    return fx.resource(ctx, "CacheReplicationGroup", "redis", spec)


def _keep_snapshots_by_hand(ctx: Context, found: Observed) -> None:
    ctx.elasticache.modify_replication_group(
        ReplicationGroupId=found.physical_id, SnapshotRetentionLimit=5, ApplyImmediately=True
    )


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.elasticache.create_replication_group(
        ReplicationGroupId=desired.spec["replicationGroupId"],
        ReplicationGroupDescription="theirs",
        CacheNodeType="cache.t3.small",
        NumCacheClusters=1,
        CacheSubnetGroupName=desired.spec["subnetGroupName"],
        Tags=[fx.OTHER_COST_CENTER],
    )


SAMPLE = Sample(
    _sample,
    _keep_snapshots_by_hand,
    "snapshotRetentionDays",
    ("ModifyReplicationGroup",),
    foreign=_foreign,
)
