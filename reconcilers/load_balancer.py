"""The load balancer kind: an application load balancer, its subnets, security groups and
three attributes (idle timeout, dropping invalid header fields, deletion protection).

What makes it risky, and where it is handled:
  - DescribeLoadBalancers takes no tag filter, so ownership is read with DescribeTags in
    batches of 20 ARNs and checked client-side (`_elbv2.ElbKind`); a load balancer of the
    desired name without our tags is `owned=False` and never taken over.
  - A load balancer is "provisioning" for minutes after CreateLoadBalancer: not ready, so
    its listeners wait; "failed" is reported as a warning. DescribeLoadBalancers does not
    report attributes, so DescribeLoadBalancerAttributes is read only for desired load
    balancers whose spec names `attributes` (orphans need none).
  - CreateLoadBalancer takes no client token but is idempotent by name: the same settings
    answer with the existing load balancer, whose tags are checked before anything else is
    written (`ElbKind.claimed`); other settings answer DuplicateLoadBalancerName, and a
    load balancer of ours under that name (a create whose answer was lost) is adopted
    (`ElbKind.adopt`). Someone else's is never taken over either way.
  - The attributes are written right after the create, all of them (the schema fills in
    those the spec leaves out): the load balancer is tagged from birth, so if this write is
    lost the next run repairs it as drift.
  - Deletion protection is the user's safety catch: plumb never turns it off to delete;
    AWS refuses (OperationNotPermitted) and the run says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.aws.context import Context
from controller.kinds.descriptor import Descriptor
from controller.kinds.iam_scope import arn
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._elbv2 import (
    SERVICE,
    TAGS,
    TERMINAL,
    ElbKind,
    Raw,
    Tagged,
    as_int,
    attribute_map,
    changed_keys,
    grants,
)

_NOT_FOUND = "LoadBalancerNotFound"
_READY = frozenset({"active", "active_impaired"})  # impaired still serves traffic


def _as_bool(value: str | None) -> bool | None:
    return None if value is None else value.lower() == "true"


# Spec attribute -> the ELBv2 attribute key, and how its string value reads back.
_ATTRIBUTES = {
    "idleTimeoutSeconds": ("idle_timeout.timeout_seconds", as_int),
    "dropInvalidHeaderFields": ("routing.http.drop_invalid_header_fields.enabled", _as_bool),
    "deletionProtection": ("deletion_protection.enabled", _as_bool),
}

_LB = arn("elasticloadbalancing", "loadbalancer/app/{name}/*")


_ACTIONS = (
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:SetSubnets",
)


@register
class LoadBalancer(ElbKind):
    """An application load balancer with a fixed name, found by its ownership tags."""

    descriptor = Descriptor(
        "LoadBalancer",
        SERVICE,
        not_found_codes=frozenset({_NOT_FOUND}),
        terminal_codes=TERMINAL
        | {
            "DuplicateLoadBalancerName",
            "TooManyLoadBalancers",
            "InvalidSubnet",
            "SubnetNotFound",
            "InvalidSecurityGroup",
            "InvalidScheme",
            "OperationNotPermitted",
        },
        requires=("Subnet", "SecurityGroup"),
        iam=grants(_ACTIONS, _LB, service_linked_roles=("elasticloadbalancing.amazonaws.com",)),
        tags=TAGS,
    )
    describe_op, list_key, arn_key = "describe_load_balancers", "LoadBalancers", "LoadBalancerArn"
    exists_code = "DuplicateLoadBalancerName"
    attributes_op = "describe_load_balancer_attributes"
    identity = (("name", "LoadBalancerName"),)

    def _to_observed(
        self, item: Tagged, logical_id: str, ctx: Context, desired: Resource | None
    ) -> Observed:
        spec = _spec(item.raw)
        if desired is not None:
            spec["attributes"] = _read_attributes(self.attributes_of(ctx, item.arn))
        return self.observed(
            item, logical_id, ctx, spec, _attrs(item.raw), _ready(item.raw), _warnings(item.raw)
        )

    def create_item(self, desired: Resource, ctx: Context) -> Raw:
        spec = desired.spec
        out = ctx.elbv2.create_load_balancer(
            Name=spec["name"],
            Subnets=list(spec["subnets"]),
            SecurityGroups=list(spec["securityGroups"]),
            Scheme=spec["scheme"],
            Type="application",
            IpAddressType="ipv4",
            Tags=ctx.tag_list(desired),
        )
        return dict(out["LoadBalancers"][0])

    def made(self, desired: Resource, ctx: Context, item: Tagged) -> Observed:
        attributes = desired.spec["attributes"]
        written = _write_attributes(ctx, item.arn, attributes, list(attributes))
        spec = {**_spec(item.raw), "attributes": _read_attributes(written)}
        return self.observed(
            item, desired.logical_id, ctx, spec, _attrs(item.raw), _ready(item.raw)
        )

    def modify(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> None:
        arn, spec = observed.physical_id, desired.spec
        if diff.changed("subnets"):
            ctx.elbv2.set_subnets(LoadBalancerArn=arn, Subnets=list(spec["subnets"]))
        if diff.changed("securityGroups"):
            ctx.elbv2.set_security_groups(
                LoadBalancerArn=arn, SecurityGroups=list(spec["securityGroups"])
            )
        if diff.changed("attributes"):
            wanted = spec["attributes"]
            _write_attributes(ctx, arn, wanted, changed_keys(diff, "attributes", wanted))

    def delete(self, observed: Observed, ctx: Context) -> None:
        # Its listeners go with it. With deletion protection on, AWS refuses and the
        # error is terminal: turning protection off is the user's decision, not plumb's.
        with self.deleting():
            ctx.elbv2.delete_load_balancer(LoadBalancerArn=observed.physical_id)


def _spec(raw: Raw) -> dict[str, Any]:
    return {
        "name": raw["LoadBalancerName"],
        "scheme": raw.get("Scheme"),
        "subnets": sorted(z["SubnetId"] for z in raw.get("AvailabilityZones") or ()),
        "securityGroups": sorted(raw.get("SecurityGroups") or ()),
        "vpcId": raw.get("VpcId"),
    }


def _attrs(raw: Raw) -> dict[str, Any]:
    arn = str(raw["LoadBalancerArn"])
    return {
        "name": raw["LoadBalancerName"],
        "dnsName": raw.get("DNSName", ""),
        "canonicalHostedZoneId": raw.get("CanonicalHostedZoneId", ""),
        "arnSuffix": _arn_suffix(arn, ":loadbalancer/"),
    }


def _ready(raw: Raw) -> bool:
    return (raw.get("State") or {}).get("Code") in _READY


def _warnings(raw: Raw) -> tuple[str, ...]:
    state = raw.get("State") or {}
    if state.get("Code") not in ("failed", "active_impaired"):
        return ()
    reason = state.get("Reason") or "no reason given"
    return (f"load balancer {raw['LoadBalancerName']} is {state['Code']}: {reason}",)


def _read_attributes(values: Mapping[str, str]) -> dict[str, Any]:
    """Spec-shaped attributes; one AWS does not report reads as None (drift, rewritten)."""
    return {field: parse(values.get(key)) for field, (key, parse) in _ATTRIBUTES.items()}


def _write_attributes(
    ctx: Context, arn: str, wanted: Mapping[str, Any], fields: list[str]
) -> dict[str, str]:
    """One ModifyLoadBalancerAttributes with the named fields; returns every attribute."""
    changes = [{"Key": _ATTRIBUTES[f][0], "Value": _text(wanted[f])} for f in fields if f in wanted]
    if not changes:
        return {}
    out = ctx.elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=changes)
    return attribute_map(out.get("Attributes"))


def _arn_suffix(arn: str, marker: str) -> str:
    """The part of an ARN after `marker`: CloudWatch's LoadBalancer dimension."""
    return arn.split(marker, 1)[1] if marker in arn else ""


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
