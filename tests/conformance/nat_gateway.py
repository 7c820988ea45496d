"""NatGateway: in a subnet with an address; a tag changed by hand is repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    [subnet] = fx.subnets(ctx, fx.vpc(ctx), count=1)
    allocation = ctx.ec2.allocate_address(Domain="vpc")["AllocationId"]
    spec = {"subnetId": subnet, "allocationId": allocation}
    return fx.resource(ctx, "NatGateway", "nat", spec)


def _retag(ctx: Context, found: Observed) -> None:
    fx.retag_ec2(ctx, found.physical_id)


SAMPLE = Sample(_sample, _retag, "tags", ("CreateTags",))
