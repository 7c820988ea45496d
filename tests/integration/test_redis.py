"""Redis against moto: the cache subnet group and the one-node replication group.

What the conformance suite does not cover: the engine version AWS fills in, security groups
read from the member cluster, orphans, groups being deleted, foreign groups of the same
name, a create retried after a lost answer, final snapshots, and tags AWS will not show.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto.elasticache.models import elasticache_backends

from controller.aws.context import Context
from controller.errors import TransientError
from controller.kinds.diff import diff
from controller.model import Resource
from reconcilers.cache_replication_group import CacheReplicationGroup
from reconcilers.cache_subnet_group import CacheSubnetGroup
from tests.conformance import fixtures
from tests.conftest import REGION, count_calls, reconcile_once

ACCOUNT = "123456789012"  # moto's account
GROUP_ID = "acme-prod-redis"
SUBNETS_NAME = "acme-prod-redis"
REDIS_ID = "acme-prod/redis/redis"
SUBNETS_ID = "acme-prod/redis/subnet-group"


def ec() -> Any:
    return boto3.client("elasticache", region_name=REGION)


def tags_of(arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in ec().list_tags_for_resource(ResourceName=arn)["TagList"]}


def member(group_id: str = GROUP_ID) -> dict[str, Any]:
    return ec().describe_cache_clusters(CacheClusterId=f"{group_id}-001")["CacheClusters"][0]


def redis(sg: str, logical_id: str = REDIS_ID, group_id: str = GROUP_ID, **spec: Any) -> Resource:
    base = {
        "replicationGroupId": group_id,
        "description": "Redis of acme-prod",
        "nodeType": "cache.t3.micro",
        "engine": "redis",
        "engineVersion": "7.1",
        "numCacheClusters": 1,
        "automaticFailover": False,
        "subnetGroupName": SUBNETS_NAME,
        "securityGroupIds": [sg],
        "snapshotRetentionDays": 0,
        "atRestEncryption": True,
        "transitEncryption": True,
        "port": 6379,
    }
    return Resource(
        "CacheReplicationGroup", logical_id, {**base, **spec}, REGION, fixtures.USER_TAGS
    )


def subnet_group(subnet_ids: list[str], name: str = SUBNETS_NAME) -> Resource:
    spec = {"name": name, "description": "Redis subnets of acme-prod", "subnetIds": subnet_ids}
    return Resource("CacheSubnetGroup", SUBNETS_ID, spec, REGION, fixtures.USER_TAGS)


@pytest.fixture
def network(ctx: Context) -> SimpleNamespace:
    vpc_id = fixtures.vpc(ctx)
    subnet_ids = fixtures.subnets(ctx, vpc_id)
    return SimpleNamespace(
        vpc=vpc_id,
        subnets=subnet_ids,
        sg=fixtures.security_group(ctx, vpc_id, "acme-prod-redis"),
        other_sg=fixtures.security_group(ctx, vpc_id, "by-hand"),
    )


@pytest.fixture
def subnets(ctx: Context, network: SimpleNamespace) -> Resource:
    res = subnet_group(network.subnets)
    assert reconcile_once(CacheSubnetGroup(), [res], ctx)[0] == {SUBNETS_ID: "create"}
    return res


@pytest.fixture
def created(ctx: Context, network: SimpleNamespace, subnets: Resource) -> Resource:
    res = redis(network.sg)
    assert reconcile_once(CacheReplicationGroup(), [res], ctx)[0] == {REDIS_ID: "create"}
    return res


@pytest.fixture
def tags_refused(ctx: Context) -> Iterator[None]:
    """AWS's answer to a tag read on a group that is not available (modifying, ...)."""

    def refuse(**_: Any) -> tuple[Any, dict[str, Any]]:
        error = {
            "Code": "InvalidReplicationGroupState",
            "Message": "Cluster not in available state",
        }
        return SimpleNamespace(status_code=400), {"Error": error, "ResponseMetadata": {}}

    events = ctx.elasticache.meta.events
    events.register("before-call.elasticache.ListTagsForResource", refuse)
    yield
    events.unregister("before-call.elasticache.ListTagsForResource", refuse)


# -- the replication group ------------------------------------------------------------


def test_create_builds_one_encrypted_node_with_its_groups_and_tags(
    created: Resource, network: SimpleNamespace
) -> None:
    [group] = ec().describe_replication_groups(ReplicationGroupId=GROUP_ID)["ReplicationGroups"]
    assert group["MemberClusters"] == [f"{GROUP_ID}-001"]
    assert (group["AutomaticFailover"], group["MultiAZ"]) == ("disabled", "disabled")
    assert group["AtRestEncryptionEnabled"] and group["TransitEncryptionEnabled"]
    assert (group["CacheNodeType"], group["SnapshotRetentionLimit"]) == ("cache.t3.micro", 0)
    assert tags_of(group["ARN"]) == created.ownership_tags()
    node = member()
    assert [sg["SecurityGroupId"] for sg in node["SecurityGroups"]] == [network.sg]
    assert node["CacheSubnetGroupName"] == SUBNETS_NAME


def test_endpoints_and_port_are_attributes_for_the_app(ctx: Context, created: Resource) -> None:
    attrs = CacheReplicationGroup().observe([created], ctx)[REDIS_ID].attrs
    assert attrs["id"] == GROUP_ID and attrs["arn"].endswith(f":replicationgroup:{GROUP_ID}")
    assert attrs["primaryEndpoint"].startswith(f"master.{GROUP_ID}.")
    assert attrs["port"] == 6379


def test_engine_version_7_1_is_satisfied_by_the_7_1_x_aws_reports(
    ctx: Context, created: Resource
) -> None:
    backend = elasticache_backends[ACCOUNT][REGION]
    for patch in ("7.1.0", "7.1.6"):
        backend.cache_clusters[f"{GROUP_ID}-001"].engine_version = patch
        found = CacheReplicationGroup().observe([created], ctx)[REDIS_ID]
        assert found.spec["engineVersion"] == patch
        assert not diff(created, found)
    backend.cache_clusters[f"{GROUP_ID}-001"].engine_version = "7.2.4"
    found = CacheReplicationGroup().observe([created], ctx)[REDIS_ID]
    assert diff(created, found).paths == ["engineVersion"]


def test_second_run_is_noop_with_three_reads_and_no_writes(ctx: Context, created: Resource) -> None:
    writes, reads = count_calls(
        ctx, lambda: reconcile_once(CacheReplicationGroup(), [created], ctx)
    )
    assert writes == 0
    assert reads == {
        "elasticache:DescribeReplicationGroups": 1,
        "elasticache:ListTagsForResource": 1,
        "elasticache:DescribeCacheClusters": 1,  # security groups and version: on the member
    }


def test_security_groups_changed_by_hand_are_read_back_and_repaired(
    ctx: Context, created: Resource, network: SimpleNamespace
) -> None:
    ec().modify_replication_group(
        ReplicationGroupId=GROUP_ID,
        SecurityGroupIds=[network.sg, network.other_sg],
        ApplyImmediately=True,
    )
    found = CacheReplicationGroup().observe([created], ctx)[REDIS_ID]
    assert found.spec["securityGroupIds"] == sorted([network.sg, network.other_sg])
    assert diff(created, found).paths == ["securityGroupIds"]

    writes, calls = count_calls(
        ctx, lambda: reconcile_once(CacheReplicationGroup(), [created], ctx)
    )

    assert (writes, calls["elasticache:ModifyReplicationGroup"]) == (1, 1)
    assert [sg["SecurityGroupId"] for sg in member()["SecurityGroups"]] == [network.sg]


def test_update_writes_tags_before_the_modify_and_only_changed_fields(
    ctx: Context, created: Resource, network: SimpleNamespace
) -> None:
    ec().add_tags_to_resource(
        ResourceName=CacheReplicationGroup().observe([created], ctx)[REDIS_ID].attrs["arn"],
        Tags=[fixtures.OTHER_COST_CENTER],
    )
    bigger = redis(network.sg, nodeType="cache.t3.small")
    sent: list[tuple[str, dict[str, Any]]] = []
    ctx.elasticache.meta.events.register(
        "provide-client-params.elasticache",
        lambda params, model, **_: sent.append((model.name, params)),
    )

    reconcile_once(CacheReplicationGroup(), [bigger], ctx)

    writes = [(op, params) for op, params in sent if not op.startswith(("Describe", "List"))]
    assert [op for op, _ in writes] == ["AddTagsToResource", "ModifyReplicationGroup"]
    assert writes[1][1] == {
        "ReplicationGroupId": GROUP_ID,
        "ApplyImmediately": True,
        "CacheNodeType": "cache.t3.small",
    }
    assert member()["CacheNodeType"] == "cache.t3.small"


def test_orphan_is_observed_by_its_tags_without_member_reads(
    ctx: Context, created: Resource
) -> None:
    found: dict[str, Any] = {}
    _, reads = count_calls(ctx, lambda: found.update(CacheReplicationGroup().observe([], ctx)))
    assert list(found) == [REDIS_ID] and found[REDIS_ID].owned
    assert "elasticache:DescribeCacheClusters" not in reads


def test_a_group_being_deleted_is_absent(ctx: Context, created: Resource) -> None:
    # moto leaves a deleted group "deleting" forever; AWS shows it so for minutes.
    elasticache_backends[ACCOUNT][REGION].replication_groups[GROUP_ID].status = "deleting"
    assert CacheReplicationGroup().observe([created], ctx) == {}


def test_delete_without_snapshots_takes_no_final_snapshot(ctx: Context, created: Resource) -> None:
    rec = CacheReplicationGroup()
    found = rec.observe([created], ctx)[REDIS_ID]
    rec.delete(found, ctx)
    assert rec.observe([created], ctx) == {}
    assert ec().describe_snapshots()["Snapshots"] == []
    rec.delete(found, ctx)  # already gone is success


def test_delete_of_a_group_keeping_snapshots_takes_a_final_one(
    ctx: Context, network: SimpleNamespace, subnets: Resource
) -> None:
    res = redis(network.sg, snapshotRetentionDays=7)
    rec = CacheReplicationGroup()
    rec.create(res, ctx)
    rec.delete(rec.observe([res], ctx)[REDIS_ID], ctx)
    [snapshot] = ec().describe_snapshots()["Snapshots"]
    assert snapshot["SnapshotName"].startswith(f"{GROUP_ID}-final-")
    assert len(snapshot["SnapshotName"]) == len(f"{GROUP_ID}-final-") + 14


def test_tags_aws_will_not_show_make_the_read_fail_never_absent(
    ctx: Context, created: Resource, tags_refused: None
) -> None:
    with pytest.raises(TransientError, match="cannot be read while it is available"):
        CacheReplicationGroup().observe([created], ctx)


# -- the cache subnet group -----------------------------------------------------------


def test_subnet_group_is_created_with_its_subnets_and_tags(
    ctx: Context, subnets: Resource, network: SimpleNamespace
) -> None:
    [group] = ec().describe_cache_subnet_groups(CacheSubnetGroupName=SUBNETS_NAME)[
        "CacheSubnetGroups"
    ]
    assert sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == sorted(network.subnets)
    assert group["VpcId"] == network.vpc
    assert tags_of(group["ARN"]) == subnets.ownership_tags()
    assert reconcile_once(CacheSubnetGroup(), [subnets], ctx)[0] == {SUBNETS_ID: "noop"}


def test_subnets_changed_by_hand_are_repaired_with_one_modify(
    ctx: Context, subnets: Resource, network: SimpleNamespace
) -> None:
    ec().modify_cache_subnet_group(CacheSubnetGroupName=SUBNETS_NAME, SubnetIds=network.subnets[:1])
    found = CacheSubnetGroup().observe([subnets], ctx)[SUBNETS_ID]
    assert diff(subnets, found).paths == ["subnetIds"]

    writes, calls = count_calls(ctx, lambda: reconcile_once(CacheSubnetGroup(), [subnets], ctx))

    assert (writes, calls["elasticache:ModifyCacheSubnetGroup"]) == (1, 1)
    group = ec().describe_cache_subnet_groups(CacheSubnetGroupName=SUBNETS_NAME)
    subnet_ids = [s["SubnetIdentifier"] for s in group["CacheSubnetGroups"][0]["Subnets"]]
    assert sorted(subnet_ids) == sorted(network.subnets)


def test_subnet_groups_named_for_no_stack_in_scope_are_not_tag_read(
    ctx: Context, subnets: Resource, network: SimpleNamespace
) -> None:
    ec().create_cache_subnet_group(
        CacheSubnetGroupName="someone-else",
        CacheSubnetGroupDescription="x",
        SubnetIds=network.subnets,
    )
    found: dict[str, Any] = {}
    _, reads = count_calls(ctx, lambda: found.update(CacheSubnetGroup().observe([], ctx)))
    assert list(found) == [SUBNETS_ID]  # the orphan, by its tags
    assert reads == {
        "elasticache:DescribeCacheSubnetGroups": 1,
        "elasticache:ListTagsForResource": 1,
    }


def test_subnet_group_in_use_is_kept_and_the_delete_retried_later(
    ctx: Context, created: Resource, subnets: Resource
) -> None:
    rec = CacheSubnetGroup()
    found = rec.observe([subnets], ctx)[SUBNETS_ID]
    with pytest.raises(Exception) as caught:
        rec.delete(found, ctx)
    assert isinstance(rec.classify(caught.value), TransientError)

    redis_rec = CacheReplicationGroup()
    redis_rec.delete(redis_rec.observe([created], ctx)[REDIS_ID], ctx)
    rec.delete(found, ctx)
    rec.delete(found, ctx)  # already gone is success
    assert rec.observe([subnets], ctx) == {}
