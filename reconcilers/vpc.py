"""The VPC kind: its CIDR block (immutable) and the two DNS attributes.

DescribeVpcs does not report the DNS attributes and DescribeVpcAttribute reads one
attribute of one VPC per call, so observing costs one DescribeVpcs for every VPC of the
stacks in scope plus one read per DNS field of each desired VPC (two per stack for the
Environment). That grows with the number of VPCs, which is one per stack, not with the
number of resources.

A VPC is always ready: CreateVpc often answers "pending", yet AWS takes subnets and
gateways in it at once, and holding them back would cost every first apply a whole run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from controller.aws.context import Context
from controller.kinds.descriptor import Descriptor
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._ec2 import SERVICE, TAGS, Ec2Kind, Raw, grants

# Spec field -> the DescribeVpcAttribute / ModifyVpcAttribute name, and what AWS gives a
# new VPC (hostnames off, support on).
_DNS = {"enableDnsSupport": "EnableDnsSupport", "enableDnsHostnames": "EnableDnsHostnames"}
_AWS_DEFAULTS = {"enableDnsSupport": True, "enableDnsHostnames": False}
_ACTIONS = (
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcAttribute",
    "ec2:CreateVpc",
    "ec2:ModifyVpcAttribute",
    "ec2:DeleteVpc",
)


@register
class Vpc(Ec2Kind):
    """An EC2 VPC, found by its ownership tags."""

    descriptor = Descriptor(
        "Vpc",
        SERVICE,
        not_found_codes=frozenset({"InvalidVpcID.NotFound"}),
        terminal_codes=frozenset({"InvalidVpc.Range", "VpcLimitExceeded"}),
        iam=grants("vpc", "ec2:CreateVpc", _ACTIONS),
        tags=TAGS,
    )
    describe_op, list_key, id_key = "describe_vpcs", "Vpcs", "VpcId"

    def _observe(
        self, ctx: Context, filters: list[dict[str, Any]], desired: Sequence[Resource]
    ) -> dict[str, Observed]:
        found = super()._observe(ctx, filters, desired)
        # An orphan's spec is never compared, so only desired VPCs cost attribute reads.
        for res in desired:
            if res.logical_id in found:
                found[res.logical_id] = _with_dns(ctx.ec2, found[res.logical_id])
        return found

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        return {"cidr": raw["CidrBlock"]}

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        return {"id": raw["VpcId"], "cidr": raw["CidrBlock"]}

    def create(self, desired: Resource, ctx: Context) -> Observed:
        spec = desired.spec
        out = ctx.ec2.create_vpc(CidrBlock=spec["cidr"], **ctx.tag_specs(desired, "vpc"))["Vpc"]
        for field in _write_order(spec):
            if spec[field] != _AWS_DEFAULTS[field]:
                _set_dns(ctx.ec2, out["VpcId"], field, spec[field])
        return self.created(desired, ctx, out, {"cidr": out["CidrBlock"], **_dns_of(spec)})

    def modify(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> None:
        for field in _write_order(desired.spec):
            if diff.changed(field):
                _set_dns(ctx.ec2, observed.physical_id, field, desired.spec[field])

    def delete(self, observed: Observed, ctx: Context) -> None:
        # Subnets, gateways and ENIs of a load balancer go first and some take minutes.
        with self.deleting():
            ctx.ec2.delete_vpc(VpcId=observed.physical_id)


def _dns_of(spec: Mapping[str, Any]) -> dict[str, bool]:
    return {field: bool(spec[field]) for field in _DNS}


def _with_dns(ec2: Any, found: Observed) -> Observed:
    values = {}
    for field, attribute in _DNS.items():
        out = ec2.describe_vpc_attribute(VpcId=found.physical_id, Attribute=field)
        values[field] = bool(out[attribute]["Value"])
    alternates = tuple(_with_dns(ec2, other) for other in found.alternates)
    return dataclasses.replace(found, spec={**found.spec, **values}, alternates=alternates)


def _write_order(spec: Mapping[str, Any]) -> list[str]:
    """Hostnames need DNS support: turn support on first, or hostnames off first."""
    order = ["enableDnsSupport", "enableDnsHostnames"]
    return order[::-1] if spec["enableDnsSupport"] is False else order


def _set_dns(ec2: Any, vpc_id: str, field: str, value: bool) -> None:
    # ModifyVpcAttribute takes one attribute per call.
    ec2.modify_vpc_attribute(VpcId=vpc_id, **{_DNS[field]: {"Value": bool(value)}})
