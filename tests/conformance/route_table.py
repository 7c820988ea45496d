"""RouteTable: a default route to an internet gateway and one subnet; the route deleted
by hand is made again."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    vpc_id = fx.vpc(ctx)
    [subnet] = fx.subnets(ctx, vpc_id, count=1)
    igw = ctx.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ctx.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    spec = {
        "vpcId": vpc_id,
        "routes": [{"destination": "0.0.0.0/0", "gatewayId": igw}],
        "associations": [subnet],
    }
    return fx.resource(ctx, "RouteTable", "rt", spec)


def _route_removed_by_hand(ctx: Context, found: Observed) -> None:
    ctx.ec2.delete_route(RouteTableId=found.physical_id, DestinationCidrBlock="0.0.0.0/0")


SAMPLE = Sample(_sample, _route_removed_by_hand, "routes", ("CreateRoute",))
