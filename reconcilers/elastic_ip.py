"""The Elastic IP kind: one public IPv4 address allocated for use in a VPC.

Other resources refer to it by `allocationId` (a NAT gateway) or `publicIp`. All
addresses of all stacks in scope are read with one DescribeAddresses (not paginated).
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

# Releasing an address a NAT gateway still holds (it keeps it until it is fully deleted,
# minutes after the delete call) fails with one of these; the next run releases it.
_IN_USE = frozenset({"InvalidIPAddress.InUse", "AuthFailure"})


@register
class ElasticIp(Ec2Kind):
    """An Elastic IP address in the VPC domain, found by its ownership tags."""

    kind = "ElasticIp"
    iam_actions = (
        "ec2:DescribeAddresses",
        "ec2:AllocateAddress",
        "ec2:ReleaseAddress",
        *EC2_TAGS,
    )
    iam_scopes = (
        Scope(("ec2:AllocateAddress",), (ec2_arn("elastic-ip"),), ("created",)),
        Scope(("ec2:ReleaseAddress",), (ec2_arn("elastic-ip"),), ("owned",)),
        *tag_scopes("elastic-ip", "AllocateAddress"),
    )
    describe_op, list_key, id_key = "describe_addresses", "Addresses", "AllocationId"
    not_found_codes = frozenset({"InvalidAllocationID.NotFound", "InvalidAddress.NotFound"})
    terminal_codes = frozenset({"AddressLimitExceeded"})

    def _to_observed(self, raw: Raw, ctx: Context, duplicates: list[str]) -> Observed:
        return observed(
            self.kind,
            raw,
            ctx,
            physical_id=raw["AllocationId"],
            spec={"domain": raw.get("Domain", "vpc")},
            attrs=_attrs(raw),
            duplicates=duplicates,
        )

    def create(self, desired: Resource, ctx: Context) -> Observed:
        out = ctx.ec2.allocate_address(
            Domain=desired.spec.get("domain", "vpc"), **ctx.tag_specs(desired, "elastic-ip")
        )
        return created(
            self.kind,
            desired,
            ctx,
            out["AllocationId"],
            {"domain": out.get("Domain", "vpc")},
            _attrs(out),
        )

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        # `domain` is immutable, so tags are the only thing an update can change.
        if diff.changed("tags"):
            sync_tags(ctx.ec2, observed.physical_id, observed.tags, desired.ownership_tags())
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        with ignoring(self.not_found_codes), transient_on(_IN_USE):
            ctx.ec2.release_address(AllocationId=observed.physical_id)


def _attrs(raw: Raw) -> dict[str, Any]:
    attrs = {
        "id": raw["AllocationId"],
        "allocationId": raw["AllocationId"],
        "publicIp": raw.get("PublicIp", ""),
    }
    if raw.get("AssociationId"):
        attrs["associationId"] = raw["AssociationId"]
    return attrs
