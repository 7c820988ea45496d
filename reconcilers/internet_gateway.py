"""The internet gateway kind, with its attachment: `vpcId` is the VPC it is attached to.

The attachment is part of the gateway because neither means anything without the other: a
gateway detached by hand, or attached to another VPC, is drift on `vpcId` and is moved
back. All gateways of all stacks in scope are read with one DescribeInternetGateways.
"""

from __future__ import annotations

from typing import Any

from controller.aws.context import Context
from controller.kinds.descriptor import Descriptor
from controller.kinds.errors import ignoring
from controller.kinds.iam_scope import Scope
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._ec2 import SERVICE, TAGS, Ec2Kind, Raw, ec2_arn, grants

# Attachment states that count as attached; "detaching" and "detached" do not.
_ATTACHED = frozenset({"attaching", "attached", "available"})
_MOVES = ("ec2:AttachInternetGateway", "ec2:DetachInternetGateway")
_ACTIONS = (
    "ec2:DescribeInternetGateways",
    "ec2:CreateInternetGateway",
    *_MOVES,
    "ec2:DeleteInternetGateway",
)


@register
class InternetGateway(Ec2Kind):
    """An internet gateway attached to one VPC, found by its ownership tags."""

    descriptor = Descriptor(
        "InternetGateway",
        SERVICE,
        not_found_codes=frozenset({"InvalidInternetGatewayID.NotFound"}),
        # The VPC already has another gateway: someone else's, which plumb does not remove.
        terminal_codes=frozenset({"Resource.AlreadyAssociated", "InternetGatewayLimitExceeded"}),
        requires=("Vpc",),
        iam=grants(
            "internet-gateway",
            "ec2:CreateInternetGateway",
            _ACTIONS,
            Scope(_MOVES, (ec2_arn("vpc"),), ("owned",)),
        ),
        tags=TAGS,
    )
    describe_op, list_key = "describe_internet_gateways", "InternetGateways"
    id_key = "InternetGatewayId"

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        return {"vpcId": _attached_vpc(raw)}

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        return {"id": raw["InternetGatewayId"]}

    def create(self, desired: Resource, ctx: Context) -> Observed:
        out = ctx.ec2.create_internet_gateway(**ctx.tag_specs(desired, "internet-gateway"))
        raw = out["InternetGateway"]
        vpc_id = desired.spec["vpcId"]
        ctx.ec2.attach_internet_gateway(InternetGatewayId=raw["InternetGatewayId"], VpcId=vpc_id)
        return self.created(desired, ctx, raw, {"vpcId": vpc_id})

    def modify(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> None:
        if diff.changed("vpcId"):
            _move(ctx.ec2, observed.physical_id, observed.spec.get("vpcId"), desired.spec["vpcId"])

    def delete(self, observed: Observed, ctx: Context) -> None:
        # Detaching fails while the VPC still maps public addresses (a NAT gateway going away).
        with self.deleting():
            if observed.spec.get("vpcId"):
                _detach(ctx.ec2, observed.physical_id, str(observed.spec["vpcId"]))
            ctx.ec2.delete_internet_gateway(InternetGatewayId=observed.physical_id)


def _attached_vpc(raw: Raw) -> str | None:
    for att in raw.get("Attachments") or ():
        if att.get("State") in _ATTACHED and att.get("VpcId"):
            return str(att["VpcId"])
    return None


def _move(ec2: Any, igw_id: str, have: Any, want: str) -> None:
    if have:
        _detach(ec2, igw_id, str(have))
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=want)


def _detach(ec2: Any, igw_id: str, vpc_id: str) -> None:
    with ignoring({"Gateway.NotAttached"}):
        ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
