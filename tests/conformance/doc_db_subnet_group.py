"""DocDbSubnetGroup: two subnets; a description changed by hand is repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    subnets = fx.subnets(ctx, fx.vpc(ctx), count=2)
    spec = {"name": "acme-prod-sample-docdb", "description": "conformance sample"}
    return fx.resource(ctx, "DocDbSubnetGroup", "docdb-subnets", {**spec, "subnetIds": subnets})


def _describe_by_hand(ctx: Context, found: Observed) -> None:
    ctx.docdb.modify_db_subnet_group(
        DBSubnetGroupName=found.physical_id,
        DBSubnetGroupDescription="changed by hand",
        SubnetIds=list(found.spec["subnetIds"]),
    )


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.docdb.create_db_subnet_group(
        DBSubnetGroupName=desired.spec["name"],
        DBSubnetGroupDescription="theirs",
        SubnetIds=list(desired.spec["subnetIds"]),
    )


SAMPLE = Sample(
    _sample, _describe_by_hand, "description", ("ModifyDBSubnetGroup",), foreign=_foreign
)
