"""The Elastic IP kind: one public IPv4 address allocated for use in a VPC.

Other resources refer to it by `allocationId` (a NAT gateway) or `publicIp`. All
addresses of all stacks in scope are read with one DescribeAddresses (not paginated).
`domain` is immutable, so tags are the only thing an update can change.
"""

from __future__ import annotations

from typing import Any

from controller.aws.context import Context
from controller.kinds.descriptor import Descriptor
from controller.kinds.registry import register
from controller.model import Observed, Resource
from reconcilers._ec2 import SERVICE, TAGS, Ec2Kind, Raw, grants

# Releasing an address a NAT gateway still holds (it keeps it until it is fully deleted,
# minutes after the delete call) fails with one of these; the next run releases it.
_IN_USE = frozenset({"InvalidIPAddress.InUse", "AuthFailure"})
_ACTIONS = ("ec2:DescribeAddresses", "ec2:AllocateAddress", "ec2:ReleaseAddress")


@register
class ElasticIp(Ec2Kind):
    """An Elastic IP address in the VPC domain, found by its ownership tags."""

    descriptor = Descriptor(
        "ElasticIp",
        SERVICE,
        not_found_codes=frozenset({"InvalidAllocationID.NotFound", "InvalidAddress.NotFound"}),
        terminal_codes=frozenset({"AddressLimitExceeded"}),
        iam=grants("elastic-ip", "ec2:AllocateAddress", _ACTIONS),
        tags=TAGS,
    )
    describe_op, list_key, id_key = "describe_addresses", "Addresses", "AllocationId"

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        return {"domain": raw.get("Domain", "vpc")}

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        attrs = {
            "id": raw["AllocationId"],
            "allocationId": raw["AllocationId"],
            "publicIp": raw.get("PublicIp", ""),
        }
        if raw.get("AssociationId"):
            attrs["associationId"] = raw["AssociationId"]
        return attrs

    def create(self, desired: Resource, ctx: Context) -> Observed:
        out = ctx.ec2.allocate_address(
            Domain=desired.spec["domain"], **ctx.tag_specs(desired, "elastic-ip")
        )
        return self.created(desired, ctx, out)

    def delete(self, observed: Observed, ctx: Context) -> None:
        with self.deleting(_IN_USE):
            ctx.ec2.release_address(AllocationId=observed.physical_id)
