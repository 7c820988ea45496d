"""InternetGateway: attached to a VPC; detached by hand, it is attached again."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    return fx.resource(ctx, "InternetGateway", "igw", {"vpcId": fx.vpc(ctx)})


def _detach_by_hand(ctx: Context, found: Observed) -> None:
    ctx.ec2.detach_internet_gateway(
        InternetGatewayId=found.physical_id, VpcId=str(found.spec["vpcId"])
    )


SAMPLE = Sample(_sample, _detach_by_hand, "vpcId", ("AttachInternetGateway",))
