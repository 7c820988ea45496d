"""Subnet: public addresses on launch; turned off by hand, they are turned on again."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    vpc_id = fx.vpc(ctx)
    spec = {
        "vpcId": vpc_id,
        "cidr": "10.90.5.0/24",
        "availabilityZone": f"{ctx.region}a",
        "mapPublicIpOnLaunch": True,
    }
    return fx.resource(ctx, "Subnet", "subnet", spec)


def _turn_public_ip_off(ctx: Context, found: Observed) -> None:
    ctx.ec2.modify_subnet_attribute(
        SubnetId=found.physical_id, MapPublicIpOnLaunch={"Value": False}
    )


SAMPLE = Sample(
    _sample,
    _turn_public_ip_off,
    "mapPublicIpOnLaunch",
    ("ModifySubnetAttribute",),
    other={"cidr": "10.90.6.0/24", "availabilityZone": "us-east-1b"},
)
