"""The subnet kind: VPC, CIDR block and availability zone (all immutable), and whether
instances launched in it get a public address (the one attribute that can change).

All subnets of all stacks in scope are read with one DescribeSubnets. A subnet is always
ready, as a VPC is: "pending" does not stop AWS from placing things in it.
"""

from __future__ import annotations

from typing import Any

from controller.aws.context import Context
from controller.kinds.errors import ignoring
from controller.kinds.iam_scope import Scope
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


@register
class Subnet(Ec2Kind):
    """An EC2 subnet in one availability zone, found by its ownership tags."""

    kind = "Subnet"
    iam_actions = (
        "ec2:DescribeSubnets",
        "ec2:CreateSubnet",
        "ec2:ModifySubnetAttribute",
        "ec2:DeleteSubnet",
        *EC2_TAGS,
    )
    iam_scopes = (
        Scope(("ec2:CreateSubnet",), (ec2_arn("subnet"),), ("created",)),
        Scope(("ec2:CreateSubnet",), (ec2_arn("vpc"),), ("owned",)),
        Scope(("ec2:ModifySubnetAttribute", "ec2:DeleteSubnet"), (ec2_arn("subnet"),), ("owned",)),
        *tag_scopes("subnet", "CreateSubnet"),
    )
    describe_op, list_key, id_key = "describe_subnets", "Subnets", "SubnetId"
    requires = ("Vpc",)
    not_found_codes = frozenset({"InvalidSubnetID.NotFound"})
    terminal_codes = frozenset(
        {"InvalidSubnet.Conflict", "InvalidSubnet.Range", "SubnetLimitExceeded"}
    )

    def _to_observed(self, raw: Raw, ctx: Context, duplicates: list[str]) -> Observed:
        return observed(
            self.kind,
            raw,
            ctx,
            physical_id=raw["SubnetId"],
            spec=_spec(raw),
            attrs=_attrs(raw),
            duplicates=duplicates,
        )

    def create(self, desired: Resource, ctx: Context) -> Observed:
        spec = desired.spec
        out = ctx.ec2.create_subnet(
            VpcId=spec["vpcId"],
            CidrBlock=spec["cidr"],
            AvailabilityZone=spec["availabilityZone"],
            **ctx.tag_specs(desired, "subnet"),
        )["Subnet"]
        public = bool(spec.get("mapPublicIpOnLaunch", False))
        if public != bool(out.get("MapPublicIpOnLaunch")):
            _set_public_ip(ctx.ec2, out["SubnetId"], public)
        return created(
            self.kind,
            desired,
            ctx,
            out["SubnetId"],
            {**_spec(out), "mapPublicIpOnLaunch": public},
            _attrs(out),
        )

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        if diff.changed("mapPublicIpOnLaunch"):
            _set_public_ip(ctx.ec2, observed.physical_id, desired.spec["mapPublicIpOnLaunch"])
        if diff.changed("tags"):
            sync_tags(ctx.ec2, observed.physical_id, observed.tags, desired.ownership_tags())
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # A NAT gateway being deleted holds its network interface here for a while.
        with ignoring(self.not_found_codes), transient_on({"DependencyViolation"}):
            ctx.ec2.delete_subnet(SubnetId=observed.physical_id)


def _spec(raw: Raw) -> dict[str, Any]:
    return {
        "vpcId": raw["VpcId"],
        "cidr": raw["CidrBlock"],
        "availabilityZone": raw["AvailabilityZone"],
        "mapPublicIpOnLaunch": bool(raw.get("MapPublicIpOnLaunch", False)),
    }


def _attrs(raw: Raw) -> dict[str, Any]:
    attrs = {
        "id": raw["SubnetId"],
        "vpcId": raw["VpcId"],
        "cidr": raw["CidrBlock"],
        "availabilityZone": raw["AvailabilityZone"],
    }
    if raw.get("SubnetArn"):
        attrs["arn"] = raw["SubnetArn"]
    return attrs


def _set_public_ip(ec2: Any, subnet_id: str, value: bool) -> None:
    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": bool(value)})
