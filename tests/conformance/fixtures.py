"""What the conformance samples stand on: prerequisites made straight through boto3.

A kind's sample (see `Sample` in __init__.py) needs the resources its own resource points at
(a subnet needs a VPC, a listener a load balancer). They are made here without plumb, so a
sample exercises one reconciler alone, and they carry no ownership tags, so no observe in
the suite mistakes them for the kind under test; except a parent through which a kind finds
its resources (a service's cluster, a listener's load balancer), which carries the stack's
tags (`owned_by_stack`), as plumb's own would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.aws.context import Context
from controller.model import TAG_ID, TAG_STACK, Resource

STACK = "acme-prod"
USER_TAGS = {"CostCenter": "4711"}
OTHER_COST_CENTER = {"Key": "CostCenter", "Value": "9999"}  # a tag changed by hand


def resource(
    ctx: Context, kind: str, name: str, spec: Mapping[str, Any], deletion_policy: str = "Delete"
) -> Resource:
    """A desired resource of the sample stack, "acme-prod/sample/{name}"."""
    return Resource(
        kind=kind,
        logical_id=f"{STACK}/sample/{name}",
        spec=dict(spec),
        region=ctx.region,
        tags=dict(USER_TAGS),
        deletion_policy=deletion_policy,
    )


def owned_by_stack(name: str) -> dict[str, str]:
    """The ownership tags of the sample stack's "acme-prod/sample/{name}"."""
    return {TAG_STACK: STACK, TAG_ID: f"{STACK}/sample/{name}"}


def vpc(ctx: Context, cidr: str = "10.90.0.0/16") -> str:
    return str(ctx.ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"])


def subnets(ctx: Context, vpc_id: str, count: int = 2, third: int = 0) -> list[str]:
    """`count` subnets of `vpc_id`, one per AZ (a) (b) ..., at 10.90.{third + i}.0/24."""
    prefix = ctx.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlock"].rsplit(".", 2)[0]
    return [
        str(
            ctx.ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=f"{prefix}.{third + i}.0/24",
                AvailabilityZone=f"{ctx.region}{'abcdef'[i]}",
            )["Subnet"]["SubnetId"]
        )
        for i in range(count)
    ]


def security_group(ctx: Context, vpc_id: str, name: str = "sample-peer") -> str:
    out = ctx.ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id)
    return str(out["GroupId"])


def retag_ec2(ctx: Context, resource_id: str) -> None:
    """The out-of-band change for kinds whose only mutable field is their tags."""
    ctx.ec2.create_tags(Resources=[resource_id], Tags=[OTHER_COST_CENTER])
