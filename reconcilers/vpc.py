"""The VPC kind: its CIDR block (immutable) and the two DNS attributes.

DescribeVpcs does not report the DNS attributes and DescribeVpcAttribute reads one
attribute of one VPC per call, so observing costs one DescribeVpcs for every VPC of the
stacks in scope plus one read per DNS field a desired VPC names (two per stack for the
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

# Spec field -> the DescribeVpcAttribute / ModifyVpcAttribute name, and what AWS gives a
# new VPC (hostnames off, support on).
_DNS = {"enableDnsSupport": "EnableDnsSupport", "enableDnsHostnames": "EnableDnsHostnames"}
_AWS_DEFAULTS = {"enableDnsSupport": True, "enableDnsHostnames": False}


@register
class Vpc(Ec2Kind):
    """An EC2 VPC, found by its ownership tags."""

    kind = "Vpc"
    iam_actions = (
        "ec2:DescribeVpcs",
        "ec2:DescribeVpcAttribute",
        "ec2:CreateVpc",
        "ec2:ModifyVpcAttribute",
        "ec2:DeleteVpc",
        *EC2_TAGS,
    )
    iam_scopes = (
        Scope(("ec2:CreateVpc",), (ec2_arn("vpc"),), ("created",)),
        Scope(("ec2:ModifyVpcAttribute", "ec2:DeleteVpc"), (ec2_arn("vpc"),), ("owned",)),
        *tag_scopes("vpc", "CreateVpc"),
    )
    describe_op, list_key, id_key = "describe_vpcs", "Vpcs", "VpcId"
    not_found_codes = frozenset({"InvalidVpcID.NotFound"})
    terminal_codes = frozenset({"InvalidVpc.Range", "VpcLimitExceeded"})

    def _observe(
        self, ctx: Context, filters: list[dict[str, Any]], desired: Sequence[Resource]
    ) -> dict[str, Observed]:
        found = super()._observe(ctx, filters, desired)
        # An orphan's spec is never compared, so only desired VPCs cost attribute reads.
        for res in desired:
            if res.logical_id in found:
                found[res.logical_id] = _with_dns(ctx.ec2, found[res.logical_id], res.spec)
        return found

    def _to_observed(self, raw: Raw, ctx: Context, duplicates: list[str]) -> Observed:
        return observed(
            self.kind,
            raw,
            ctx,
            physical_id=raw["VpcId"],
            spec={"cidr": raw["CidrBlock"]},
            attrs=_attrs(raw),
            duplicates=duplicates,
        )

    def create(self, desired: Resource, ctx: Context) -> Observed:
        out = ctx.ec2.create_vpc(CidrBlock=desired.spec["cidr"], **ctx.tag_specs(desired, "vpc"))[
            "Vpc"
        ]
        dns = dict(_AWS_DEFAULTS)
        for field in _write_order(desired.spec):
            if desired.spec[field] != dns[field]:
                _set_dns(ctx.ec2, out["VpcId"], field, desired.spec[field])
                dns[field] = desired.spec[field]
        spec = {"cidr": out["CidrBlock"], **{f: dns[f] for f in _DNS if f in desired.spec}}
        return created(
            self.kind,
            desired,
            ctx,
            out["VpcId"],
            spec,
            _attrs(out),
        )

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        for field in _write_order(desired.spec):
            if diff.changed(field):
                _set_dns(ctx.ec2, observed.physical_id, field, desired.spec[field])
        if diff.changed("tags"):
            sync_tags(ctx.ec2, observed.physical_id, observed.tags, desired.ownership_tags())
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # Subnets, gateways and ENIs of a load balancer go first and some take minutes.
        with ignoring(self.not_found_codes), transient_on({"DependencyViolation"}):
            ctx.ec2.delete_vpc(VpcId=observed.physical_id)


def _attrs(raw: Raw) -> dict[str, Any]:
    return {"id": raw["VpcId"], "cidr": raw["CidrBlock"]}


def _with_dns(ec2: Any, found: Observed, spec: Mapping[str, Any]) -> Observed:
    values = {}
    for field, attribute in _DNS.items():
        if field in spec:
            out = ec2.describe_vpc_attribute(VpcId=found.physical_id, Attribute=field)
            values[field] = bool(out[attribute]["Value"])
    alternates = tuple(_with_dns(ec2, other, spec) for other in found.alternates)
    return dataclasses.replace(found, spec={**found.spec, **values}, alternates=alternates)


def _write_order(spec: Mapping[str, Any]) -> list[str]:
    """Hostnames need DNS support: turn support on first, or hostnames off first."""
    order = ["enableDnsSupport", "enableDnsHostnames"]
    if spec.get("enableDnsSupport") is False:
        order.reverse()
    return [field for field in order if field in spec]


def _set_dns(ec2: Any, vpc_id: str, field: str, value: bool) -> None:
    # ModifyVpcAttribute takes one attribute per call.
    ec2.modify_vpc_attribute(VpcId=vpc_id, **{_DNS[field]: {"Value": bool(value)}})
