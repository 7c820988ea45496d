"""The DocumentDB kinds against moto (with plumb's DocDB patch): subnet group, cluster and
instance. The conformance suite covers create, no-op, one drift and delete; these cover
ownership, orphans, idempotent creates, what AWS changes on its own, the master password
and the deletion guard."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

from controller.aws.context import Context
from controller.errors import TerminalError, TransientError
from controller.kinds.diff import diff
from controller.kinds.tags import to_dict
from controller.model import Resource
from reconcilers.doc_db_cluster import DocDbCluster
from reconcilers.doc_db_instance import DocDbInstance
from reconcilers.doc_db_subnet_group import DocDbSubnetGroup
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.kind_passes import noop_calls

GROUP, CLUSTER, INSTANCE = "acme-prod-docdb", "acme-prod-docdb", "acme-prod-docdb-1"
GROUP_ID, CLUSTER_ID, INSTANCE_ID = (
    "acme-prod/db/subnets",
    "acme-prod/db/cluster",
    "acme-prod/db/instance-1",
)
NOOP_READS_ONE = {"docdb:ListTagsForResource": 1}


def docdb() -> Any:
    return boto3.client("docdb", region_name=REGION)


def tags_of(arn: str) -> dict[str, str]:
    return to_dict(docdb().list_tags_for_resource(ResourceName=arn)["TagList"])


def resource(kind: str, logical_id: str, spec: dict[str, Any]) -> Resource:
    return Resource(kind, logical_id, spec, REGION, tags={"CostCenter": "4711"})


@pytest.fixture
def network(ctx: Context) -> dict[str, Any]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.1{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in enumerate("abc")
    ]
    groups = [
        ec2.create_security_group(GroupName=n, Description=n, VpcId=vpc)["GroupId"]
        for n in ("docdb", "other")
    ]
    return {"subnets": subnets, "sg": groups[0], "other_sg": groups[1]}


def group_res(network: dict[str, Any], **spec: Any) -> Resource:
    base = {
        "name": GROUP,
        "description": "acme-prod DocumentDB",
        "subnetIds": network["subnets"][:2],
    }
    return resource("DocDbSubnetGroup", GROUP_ID, {**base, **spec})


def cluster_res(network: dict[str, Any], **spec: Any) -> Resource:
    base = {
        "clusterIdentifier": CLUSTER,
        "engineVersion": "5.0.0",
        "subnetGroupName": GROUP,
        "securityGroupIds": [network["sg"]],
        "backupRetentionDays": 7,
        "deletionProtection": False,
        "storageEncrypted": True,
        "masterUsername": "plumbadmin",
        "port": 27017,
    }
    return resource("DocDbCluster", CLUSTER_ID, {**base, **spec})


def instance_res(**spec: Any) -> Resource:
    base = {
        "instanceIdentifier": INSTANCE,
        "clusterIdentifier": CLUSTER,
        "instanceClass": "db.t3.medium",
        "autoMinorVersionUpgrade": True,
    }
    return resource("DocDbInstance", INSTANCE_ID, {**base, **spec})


@pytest.fixture
def group(ctx: Context, network: dict[str, Any]) -> Resource:
    res = group_res(network)
    assert reconcile_once(DocDbSubnetGroup(), [res], ctx)[0] == {GROUP_ID: "create"}
    return res


@pytest.fixture
def cluster(ctx: Context, network: dict[str, Any], group: Resource) -> Resource:
    res = cluster_res(network)
    assert reconcile_once(DocDbCluster(), [res], ctx)[0] == {CLUSTER_ID: "create"}
    return res


@pytest.fixture
def instance(ctx: Context, cluster: Resource) -> Resource:
    res = instance_res()
    assert reconcile_once(DocDbInstance(), [res], ctx)[0] == {INSTANCE_ID: "create"}
    return res


def capture(ctx: Context, operation: str) -> list[dict[str, Any]]:
    """The parameters of every `operation` call plumb makes through `ctx`."""
    seen: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    ctx.docdb.meta.events.register(f"provide-client-params.docdb.{operation}", hook)
    return seen


def moto_cluster(identifier: str = CLUSTER) -> Any:
    from moto.rds.models import rds_backends

    return rds_backends["123456789012"][REGION].clusters[identifier]


# -- subnet group ----------------------------------------------------------------------


def test_subnet_group_is_created_with_description_subnets_and_tags(
    group: Resource, network: dict[str, Any]
) -> None:
    [raw] = docdb().describe_db_subnet_groups(DBSubnetGroupName=GROUP)["DBSubnetGroups"]
    assert raw["DBSubnetGroupDescription"] == "acme-prod DocumentDB"
    assert sorted(s["SubnetIdentifier"] for s in raw["Subnets"]) == sorted(network["subnets"][:2])
    assert tags_of(raw["DBSubnetGroupArn"]) == group.ownership_tags()


def test_subnet_group_noop_reads_one_listing_and_one_tag_set(
    ctx: Context, group: Resource, network: dict[str, Any]
) -> None:
    docdb().create_db_subnet_group(
        DBSubnetGroupName="someone-elses",
        DBSubnetGroupDescription="not plumb's",
        SubnetIds=network["subnets"],
    )
    holder: dict[str, Any] = {}
    writes, ops = count_calls(
        ctx, lambda: holder.update(out=reconcile_once(DocDbSubnetGroup(), [group], ctx))
    )
    assert holder["out"][0] == {GROUP_ID: "noop"}
    # A group named outside the stack's "{stack}-" scheme costs no tag read.
    assert (writes, ops) == (0, {"docdb:DescribeDBSubnetGroups": 1, **NOOP_READS_ONE})
    assert holder["out"][1][GROUP_ID].attrs == {
        "id": GROUP,
        "name": GROUP,
        "arn": f"arn:aws:rds:{REGION}:123456789012:subgrp:{GROUP}",
    }


def test_subnets_changed_by_hand_are_restored_in_one_call(
    ctx: Context, group: Resource, network: dict[str, Any]
) -> None:
    docdb().modify_db_subnet_group(DBSubnetGroupName=GROUP, SubnetIds=network["subnets"][1:])
    found = DocDbSubnetGroup().observe([group], ctx)[GROUP_ID]
    assert diff(group, found).paths == ["subnetIds"]

    modify = capture(ctx, "ModifyDBSubnetGroup")
    writes, _ = count_calls(ctx, lambda: reconcile_once(DocDbSubnetGroup(), [group], ctx))

    assert writes == 1
    assert modify == [{"DBSubnetGroupName": GROUP, "SubnetIds": sorted(network["subnets"][:2])}]
    [raw] = docdb().describe_db_subnet_groups(DBSubnetGroupName=GROUP)["DBSubnetGroups"]
    assert sorted(s["SubnetIdentifier"] for s in raw["Subnets"]) == sorted(network["subnets"][:2])
    assert tags_of(raw["DBSubnetGroupArn"]) == group.ownership_tags()


def test_subnet_group_tags_changed_by_hand_are_repaired(ctx: Context, group: Resource) -> None:
    arn = DocDbSubnetGroup().observe([group], ctx)[GROUP_ID].attrs["arn"]
    docdb().add_tags_to_resource(
        ResourceName=arn, Tags=[{"Key": "CostCenter", "Value": "0"}, {"Key": "x", "Value": "y"}]
    )
    _, ops = count_calls(ctx, lambda: reconcile_once(DocDbSubnetGroup(), [group], ctx))
    assert ops["docdb:AddTagsToResource"] == ops["docdb:RemoveTagsFromResource"] == 1
    assert tags_of(arn) == group.ownership_tags()


def test_subnet_group_in_use_by_a_cluster_is_a_transient_delete(
    ctx: Context, cluster: Resource, group: Resource
) -> None:
    found = DocDbSubnetGroup().observe([group], ctx)[GROUP_ID]
    with pytest.raises(TransientError):
        DocDbSubnetGroup().delete(found, ctx)
    assert docdb().describe_db_subnet_groups(DBSubnetGroupName=GROUP)["DBSubnetGroups"]


# -- cluster ---------------------------------------------------------------------------


def test_cluster_is_created_encrypted_protected_as_asked_with_a_managed_password(
    ctx: Context, cluster: Resource, network: dict[str, Any]
) -> None:
    [raw] = docdb().describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"]
    assert (raw["Engine"], raw["EngineVersion"], raw["Port"]) == ("docdb", "5.0.0", 27017)
    assert raw["StorageEncrypted"] is True and raw["DeletionProtection"] is False
    assert raw["BackupRetentionPeriod"] == 7 and raw["DBSubnetGroup"] == GROUP
    assert [g["VpcSecurityGroupId"] for g in raw["VpcSecurityGroups"]] == [network["sg"]]
    assert tags_of(raw["DBClusterArn"]) == cluster.ownership_tags()
    found = DocDbCluster().observe([cluster], ctx)[CLUSTER_ID]
    assert found.attrs["masterSecretArn"] == raw["MasterUserSecret"]["SecretArn"]
    assert found.attrs["endpoint"] == raw["Endpoint"]
    assert found.attrs["readerEndpoint"] == raw["ReaderEndpoint"]
    assert found.attrs["clusterResourceId"] == raw["DbClusterResourceId"]


def test_the_master_password_never_reaches_an_observation(
    ctx: Context, network: dict[str, Any], group: Resource
) -> None:
    res = cluster_res(network)
    create = capture(ctx, "CreateDBCluster")
    created = DocDbCluster().create(res, ctx)
    found = DocDbCluster().observe([res], ctx)[CLUSTER_ID]

    assert create[0]["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in create[0]
    secret_arn = found.attrs["masterSecretArn"]
    assert secret_arn and secret_arn.startswith(f"arn:aws:secretsmanager:{REGION}:")
    sm = boto3.client("secretsmanager", region_name=REGION)
    password = sm.get_secret_value(SecretId=secret_arn)["SecretString"]
    assert password
    for observed in (created, found):
        assert password not in repr(observed)
        assert "password" not in {k.lower() for k in [*observed.spec, *observed.attrs]}


def test_cluster_noop_reads_one_listing_with_its_tags(ctx: Context, cluster: Resource) -> None:
    # The RDS API's listing carries the tags: no ListTagsForResource per cluster.
    assert noop_calls(DocDbCluster(), cluster, ctx) == (0, {"rds:DescribeDBClusters": 1})


def test_a_minor_version_aws_upgraded_to_is_not_drift(ctx: Context, cluster: Resource) -> None:
    docdb().modify_db_cluster(
        DBClusterIdentifier=CLUSTER, EngineVersion="5.0.1", ApplyImmediately=True
    )
    found = DocDbCluster().observe([cluster], ctx)[CLUSTER_ID]
    assert found.spec["engineVersion"] == "5.0.1"
    assert not diff(cluster, found)
    assert reconcile_once(DocDbCluster(), [cluster], ctx)[0] == {CLUSTER_ID: "noop"}


def test_a_new_major_version_is_an_in_place_major_upgrade(ctx: Context, cluster: Resource) -> None:
    newer = cluster.with_spec({**cluster.spec, "engineVersion": "8.0.0"})
    modify = capture(ctx, "ModifyDBCluster")
    assert reconcile_once(DocDbCluster(), [newer], ctx)[0] == {CLUSTER_ID: "update"}
    assert modify == [
        {
            "DBClusterIdentifier": CLUSTER,
            "ApplyImmediately": True,
            "EngineVersion": "8.0.0",
            "AllowMajorVersionUpgrade": True,
        }
    ]


def test_cluster_update_sends_only_the_drifted_fields_in_one_call(
    ctx: Context, cluster: Resource, network: dict[str, Any]
) -> None:
    docdb().modify_db_cluster(
        DBClusterIdentifier=CLUSTER,
        BackupRetentionPeriod=2,
        VpcSecurityGroupIds=[network["other_sg"]],
        ApplyImmediately=True,
    )
    modify = capture(ctx, "ModifyDBCluster")
    writes, _ = count_calls(ctx, lambda: reconcile_once(DocDbCluster(), [cluster], ctx))
    assert writes == 1
    assert modify == [
        {
            "DBClusterIdentifier": CLUSTER,
            "ApplyImmediately": True,
            "BackupRetentionPeriod": 7,
            "VpcSecurityGroupIds": [network["sg"]],
        }
    ]
    assert reconcile_once(DocDbCluster(), [cluster], ctx)[0] == {CLUSTER_ID: "noop"}


def test_deletion_protection_refuses_the_delete_and_keeps_the_cluster(
    ctx: Context, network: dict[str, Any], group: Resource
) -> None:
    res = cluster_res(network, deletionProtection=True)
    reconcile_once(DocDbCluster(), [res], ctx)
    found = DocDbCluster().observe([res], ctx)[CLUSTER_ID]

    caught: list[TerminalError] = []

    def delete() -> None:
        with pytest.raises(TerminalError) as err:
            DocDbCluster().delete(found, ctx)
        caught.append(err.value)

    writes, _ = count_calls(ctx, delete)

    assert writes == 0
    assert (
        "deletion protection is on: set documentdb.deletionProtection: false and apply, then delete"
        in str(caught[0])
    )
    assert docdb().describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0][
        "DeletionProtection"
    ]


def test_protection_turned_on_after_the_observation_still_refuses(
    ctx: Context, cluster: Resource
) -> None:
    found = DocDbCluster().observe([cluster], ctx)[CLUSTER_ID]
    docdb().modify_db_cluster(
        DBClusterIdentifier=CLUSTER, DeletionProtection=True, ApplyImmediately=True
    )
    with pytest.raises(TerminalError, match="deletion protection is on"):
        DocDbCluster().delete(found, ctx)
    assert docdb().describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"]


def test_delete_keeps_a_final_snapshot(ctx: Context, cluster: Resource) -> None:
    delete = capture(ctx, "DeleteDBCluster")
    DocDbCluster().delete(DocDbCluster().observe([cluster], ctx)[CLUSTER_ID], ctx)

    [call] = delete
    assert "SkipFinalSnapshot" not in call
    assert re.fullmatch(rf"{CLUSTER}-final-\d{{14}}", call["FinalDBSnapshotIdentifier"])
    snapshots = docdb().describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    assert [s["DBClusterSnapshotIdentifier"] for s in snapshots] == [
        call["FinalDBSnapshotIdentifier"]
    ]
    assert DocDbCluster().observe([cluster], ctx) == {}


def test_a_cluster_with_instances_left_is_a_transient_delete(
    ctx: Context, cluster: Resource, instance: Resource
) -> None:
    found = DocDbCluster().observe([cluster], ctx)[CLUSTER_ID]
    with pytest.raises(TransientError):
        DocDbCluster().delete(found, ctx)


@pytest.mark.parametrize(
    ("status", "ready"),
    [
        pytest.param("available", True, id="available serves"),
        pytest.param("modifying", True, id="modifying still serves"),
        pytest.param("backing-up", True, id="backing-up still serves"),
        pytest.param("creating", False, id="creating is not ready"),
        pytest.param("upgrading", False, id="upgrading is not ready"),
    ],
)
def test_cluster_readiness_follows_its_status(
    ctx: Context, cluster: Resource, status: str, ready: bool
) -> None:
    moto_cluster().status = status
    assert DocDbCluster().observe([cluster], ctx)[CLUSTER_ID].ready is ready


def test_a_cluster_being_deleted_is_absent(ctx: Context, cluster: Resource) -> None:
    moto_cluster().status = "deleting"
    assert DocDbCluster().observe([cluster], ctx) == {}
    assert DocDbCluster().observe([], ctx) == {}


def test_orphan_cluster_is_observed_and_other_engines_are_not(
    ctx: Context, cluster: Resource
) -> None:
    rds = boto3.client("rds", region_name=REGION)
    rds.create_db_cluster(
        DBClusterIdentifier="acme-prod-aurora",
        Engine="aurora-postgresql",
        MasterUsername="x",
        MasterUserPassword="not-docdb-1234",
        Tags=[{"Key": "plumb:stack", "Value": "acme-prod"}, {"Key": "plumb:id", "Value": "a/b"}],
    )
    found = DocDbCluster().observe([], ctx)
    assert list(found) == [CLUSTER_ID] and found[CLUSTER_ID].owned


# -- instance --------------------------------------------------------------------------


def test_instance_is_created_in_its_cluster_with_tags(ctx: Context, instance: Resource) -> None:
    [raw] = docdb().describe_db_instances(DBInstanceIdentifier=INSTANCE)["DBInstances"]
    assert (raw["Engine"], raw["DBClusterIdentifier"], raw["DBInstanceClass"]) == (
        "docdb",
        CLUSTER,
        "db.t3.medium",
    )
    assert tags_of(raw["DBInstanceArn"]) == instance.ownership_tags()
    found = DocDbInstance().observe([instance], ctx)[INSTANCE_ID]
    assert found.ready
    assert found.attrs == {
        "id": INSTANCE,
        "arn": raw["DBInstanceArn"],
        "endpoint": raw["Endpoint"]["Address"],
        "port": 27017,
    }


def test_instance_noop_reads_one_listing_with_its_tags(ctx: Context, instance: Resource) -> None:
    assert noop_calls(DocDbInstance(), instance, ctx) == (0, {"rds:DescribeDBInstances": 1})


def test_minor_upgrades_turned_off_by_hand_are_turned_on_again(
    ctx: Context, instance: Resource
) -> None:
    docdb().modify_db_instance(DBInstanceIdentifier=INSTANCE, AutoMinorVersionUpgrade=False)
    modify = capture(ctx, "ModifyDBInstance")
    assert reconcile_once(DocDbInstance(), [instance], ctx)[0] == {INSTANCE_ID: "update"}
    assert modify == [
        {
            "DBInstanceIdentifier": INSTANCE,
            "ApplyImmediately": True,
            "AutoMinorVersionUpgrade": True,
        }
    ]
    [raw] = docdb().describe_db_instances(DBInstanceIdentifier=INSTANCE)["DBInstances"]
    assert raw["AutoMinorVersionUpgrade"] is True


def test_the_three_kinds_delete_in_reverse_order(
    ctx: Context, instance: Resource, cluster: Resource, group: Resource
) -> None:
    assert DocDbInstance.descriptor.requires == ("DocDbCluster",)
    assert set(DocDbCluster.descriptor.requires) == {"DocDbSubnetGroup", "SecurityGroup"}
    for rec, res in (
        (DocDbInstance(), instance),
        (DocDbCluster(), cluster),
        (DocDbSubnetGroup(), group),
    ):
        rec.delete(rec.observe([res], ctx)[res.logical_id], ctx)
    assert docdb().describe_db_subnet_groups()["DBSubnetGroups"] == []
    assert docdb().describe_db_clusters()["DBClusters"] == []
