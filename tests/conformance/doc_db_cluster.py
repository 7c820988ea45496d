"""DocDbCluster: an encrypted cluster on an untagged network; backups shortened by hand
are repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx

SAMPLE_ID = "acme-prod-sample-docdb"


def sample_network(ctx: Context) -> tuple[str, str]:
    """A subnet group over two fresh subnets and a security group, straight through boto3
    (untagged): (subnet group name, security group id)."""
    vpc = fx.vpc(ctx)
    subnets = fx.subnets(ctx, vpc, count=2)
    ctx.docdb.create_db_subnet_group(
        DBSubnetGroupName=SAMPLE_ID, DBSubnetGroupDescription="sample", SubnetIds=subnets
    )
    return SAMPLE_ID, fx.security_group(ctx, vpc, "sample-docdb")


def _sample(ctx: Context) -> Resource:
    group, security_group = sample_network(ctx)
    spec = {
        "clusterIdentifier": SAMPLE_ID,
        "engineVersion": "5.0.0",
        "subnetGroupName": group,
        "securityGroupIds": [security_group],
        "backupRetentionDays": 7,
        "deletionProtection": False,  # so the suite's delete can run
        "storageEncrypted": True,
        "masterUsername": "plumbadmin",
        "port": 27017,
        "preferredBackupWindow": "03:00-03:30",
    }
    return fx.resource(ctx, "DocDbCluster", "docdb", spec)


def _shorten_backups_by_hand(ctx: Context, found: Observed) -> None:
    ctx.docdb.modify_db_cluster(
        DBClusterIdentifier=found.physical_id, BackupRetentionPeriod=3, ApplyImmediately=True
    )


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.docdb.create_db_cluster(
        DBClusterIdentifier=desired.spec["clusterIdentifier"],
        Engine="docdb",
        MasterUsername="someone",
        ManageMasterUserPassword=True,
        DBSubnetGroupName=desired.spec["subnetGroupName"],
        BackupRetentionPeriod=1,
    )


SAMPLE = Sample(
    _sample,
    _shorten_backups_by_hand,
    "backupRetentionDays",
    ("ModifyDBCluster",),
    foreign=_foreign,
)
