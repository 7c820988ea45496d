"""The subnet kind: VPC, CIDR block and availability zone (all immutable), and whether
instances launched in it get a public address (the one attribute that can change).

All subnets of all stacks in scope are read with one DescribeSubnets. A subnet is always
ready, as a VPC is: "pending" does not stop AWS from placing things in it.
"""

from __future__ import annotations

from typing import Any

from controller.aws.context import Context
from controller.kinds.descriptor import Descriptor
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._ec2 import SERVICE, TAGS, Ec2Kind, Raw, grants

_ACTIONS = (
    "ec2:DescribeSubnets",
    "ec2:CreateSubnet",
    "ec2:ModifySubnetAttribute",
    "ec2:DeleteSubnet",
)


@register
class Subnet(Ec2Kind):
    """An EC2 subnet in one availability zone, found by its ownership tags."""

    descriptor = Descriptor(
        "Subnet",
        SERVICE,
        not_found_codes=frozenset({"InvalidSubnetID.NotFound"}),
        terminal_codes=frozenset(
            {"InvalidSubnet.Conflict", "InvalidSubnet.Range", "SubnetLimitExceeded"}
        ),
        requires=("Vpc",),
        iam=grants("subnet", "ec2:CreateSubnet", _ACTIONS, parents=("vpc",)),
        tags=TAGS,
    )
    describe_op, list_key, id_key = "describe_subnets", "Subnets", "SubnetId"

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        return {
            "vpcId": raw["VpcId"],
            "cidr": raw["CidrBlock"],
            "availabilityZone": raw["AvailabilityZone"],
            "mapPublicIpOnLaunch": bool(raw.get("MapPublicIpOnLaunch", False)),
        }

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        attrs = {
            "id": raw["SubnetId"],
            "vpcId": raw["VpcId"],
            "cidr": raw["CidrBlock"],
            "availabilityZone": raw["AvailabilityZone"],
        }
        if raw.get("SubnetArn"):
            attrs["arn"] = raw["SubnetArn"]
        return attrs

    def create(self, desired: Resource, ctx: Context) -> Observed:
        spec = desired.spec
        out = ctx.ec2.create_subnet(
            VpcId=spec["vpcId"],
            CidrBlock=spec["cidr"],
            AvailabilityZone=spec["availabilityZone"],
            **ctx.tag_specs(desired, "subnet"),
        )["Subnet"]
        public = bool(spec["mapPublicIpOnLaunch"])
        if public != bool(out.get("MapPublicIpOnLaunch")):
            _set_public_ip(ctx.ec2, out["SubnetId"], public)
        return self.created(desired, ctx, out, {**self.spec_of(out), "mapPublicIpOnLaunch": public})

    def modify(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> None:
        if diff.changed("mapPublicIpOnLaunch"):
            _set_public_ip(ctx.ec2, observed.physical_id, desired.spec["mapPublicIpOnLaunch"])

    def delete(self, observed: Observed, ctx: Context) -> None:
        # A NAT gateway being deleted holds its network interface here for a while.
        with self.deleting():
            ctx.ec2.delete_subnet(SubnetId=observed.physical_id)


def _set_public_ip(ec2: Any, subnet_id: str, value: bool) -> None:
    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": bool(value)})
