"""Vpc: DNS support and hostnames on; hostnames turned off by hand are turned on again."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    spec = {"cidr": "10.80.0.0/16", "enableDnsSupport": True, "enableDnsHostnames": True}
    return fx.resource(ctx, "Vpc", "vpc", spec)


def _turn_hostnames_off(ctx: Context, found: Observed) -> None:
    ctx.ec2.modify_vpc_attribute(VpcId=found.physical_id, EnableDnsHostnames={"Value": False})


SAMPLE = Sample(
    _sample,
    _turn_hostnames_off,
    "enableDnsHostnames",
    ("ModifyVpcAttribute",),
    other={"cidr": "10.81.0.0/16"},
)
