"""The internet gateway kind, with its attachment: `vpcId` is the VPC it is attached to.

The attachment is part of the gateway because neither means anything without the other: a
gateway detached by hand, or attached to another VPC, is drift on `vpcId` and is moved
back. All gateways of all stacks in scope are read with one DescribeInternetGateways.
"""

from __future__ import annotations

from typing import Any

from controller.aws.context import Context
from controller.kinds.errors import ignoring
from controller.kinds.iam_scope import Scope, but
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._ec2 import TAG_ACTIONS as EC2_TAGS
from reconcilers._ec2 import (
    Ec2Kind,
    Raw,
    created,
    ec2_arn,
    observed,
    sync_tags,
    tag_scopes,
    transient_on,
)

# Attachment states that count as attached; "detaching" and "detached" do not.
_ATTACHED = frozenset({"attaching", "attached", "available"})


@register
class InternetGateway(Ec2Kind):
    """An internet gateway attached to one VPC, found by its ownership tags."""

    kind = "InternetGateway"
    iam_actions = (
        "ec2:DescribeInternetGateways",
        "ec2:CreateInternetGateway",
        "ec2:AttachInternetGateway",
        "ec2:DetachInternetGateway",
        "ec2:DeleteInternetGateway",
        *EC2_TAGS,
    )
    iam_scopes = (
        Scope(("ec2:CreateInternetGateway",), (ec2_arn("internet-gateway"),), ("created",)),
        Scope(
            but(
                iam_actions, "ec2:DescribeInternetGateways", "ec2:CreateInternetGateway", *EC2_TAGS
            ),
            (ec2_arn("internet-gateway"),),
            ("owned",),
        ),
        Scope(
            ("ec2:AttachInternetGateway", "ec2:DetachInternetGateway"),
            (ec2_arn("vpc"),),
            ("owned",),
        ),
        *tag_scopes("internet-gateway", "CreateInternetGateway"),
    )
    describe_op, list_key = "describe_internet_gateways", "InternetGateways"
    id_key = "InternetGatewayId"
    requires = ("Vpc",)
    not_found_codes = frozenset({"InvalidInternetGatewayID.NotFound"})
    # The VPC already has another gateway: someone else's, which plumb does not remove.
    terminal_codes = frozenset({"Resource.AlreadyAssociated", "InternetGatewayLimitExceeded"})

    def _to_observed(self, raw: Raw, ctx: Context, duplicates: list[str]) -> Observed:
        igw_id = raw["InternetGatewayId"]
        return observed(
            self.kind,
            raw,
            ctx,
            physical_id=igw_id,
            spec={"vpcId": _attached_vpc(raw)},
            attrs={"id": igw_id},
            duplicates=duplicates,
        )

    def create(self, desired: Resource, ctx: Context) -> Observed:
        out = ctx.ec2.create_internet_gateway(**ctx.tag_specs(desired, "internet-gateway"))
        igw_id = out["InternetGateway"]["InternetGatewayId"]
        ctx.ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=desired.spec["vpcId"])
        return created(
            self.kind, desired, ctx, igw_id, {"vpcId": desired.spec["vpcId"]}, {"id": igw_id}
        )

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        if diff.changed("vpcId"):
            _move(ctx.ec2, observed.physical_id, observed.spec.get("vpcId"), desired.spec["vpcId"])
        if diff.changed("tags"):
            sync_tags(ctx.ec2, observed.physical_id, observed.tags, desired.ownership_tags())
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # Detaching fails while the VPC still maps public addresses (a NAT gateway going away).
        with ignoring(self.not_found_codes), transient_on({"DependencyViolation"}):
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
