"""DocDbInstance: one instance in an untagged cluster; a resize by hand is repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx
from tests.conformance.doc_db_cluster import SAMPLE_ID, sample_network


def _sample(ctx: Context) -> Resource:
    group, security_group = sample_network(ctx)
    ctx.docdb.create_db_cluster(
        DBClusterIdentifier=SAMPLE_ID,
        Engine="docdb",
        MasterUsername="plumbadmin",
        ManageMasterUserPassword=True,
        DBSubnetGroupName=group,
        VpcSecurityGroupIds=[security_group],
        DeletionProtection=False,
    )
    spec = {
        "instanceIdentifier": f"{SAMPLE_ID}-1",
        "clusterIdentifier": SAMPLE_ID,
        "instanceClass": "db.t3.medium",
        "autoMinorVersionUpgrade": True,
    }
    return fx.resource(ctx, "DocDbInstance", "docdb-1", spec)


def _resize_by_hand(ctx: Context, found: Observed) -> None:
    ctx.docdb.modify_db_instance(
        DBInstanceIdentifier=found.physical_id, DBInstanceClass="db.t3.large", ApplyImmediately=True
    )


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.docdb.create_db_instance(
        DBInstanceIdentifier=desired.spec["instanceIdentifier"],
        DBInstanceClass="db.r6g.large",
        Engine="docdb",
        DBClusterIdentifier=desired.spec["clusterIdentifier"],
    )


SAMPLE = Sample(_sample, _resize_by_hand, "instanceClass", ("ModifyDBInstance",), foreign=_foreign)
