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
  - Deletion protection is the user's safety catch: plumb never turns it off to delete;
    AWS refuses (OperationNotPermitted) and the run says so.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.kinds.errors import error_code, ignoring
from controller.kinds.iam_scope import Scope, arn, but, tagging
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._elbv2 import SHARED_ACTIONS as ELB_SHARED
from reconcilers._elbv2 import (
    ElbKind,
    Raw,
    Tagged,
    arn_suffix,
    as_bool,
    as_int,
    attribute_map,
    changed_keys,
    defaults,
    load_balancers,
    observed,
    sync_tags,
)

_NOT_FOUND = "LoadBalancerNotFound"
_READY = frozenset({"active", "active_impaired"})  # impaired still serves traffic
# Spec attribute -> the ELBv2 attribute key, and how its string value reads back.
_ATTRIBUTES = {
    "idleTimeoutSeconds": ("idle_timeout.timeout_seconds", as_int),
    "dropInvalidHeaderFields": ("routing.http.drop_invalid_header_fields.enabled", as_bool),
    "deletionProtection": ("deletion_protection.enabled", as_bool),
}

_LB = arn("elasticloadbalancing", "loadbalancer/app/{name}/*")


@register
class LoadBalancer(ElbKind):
    """An application load balancer with a fixed name, found by its ownership tags."""

    kind = "LoadBalancer"
    iam_actions = (
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:SetSecurityGroups",
        "elasticloadbalancing:SetSubnets",
        *ELB_SHARED,
    )
    iam_scopes = (
        Scope(
            but(iam_actions, "elasticloadbalancing:DescribeLoadBalancerAttributes", *ELB_SHARED),
            (_LB,),
        ),
        *tagging("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags", (_LB,)),
    )
    service_linked_roles = ("elasticloadbalancing.amazonaws.com",)
    requires = ("Subnet", "SecurityGroup")
    not_found_codes = frozenset({_NOT_FOUND})
    terminal_codes = frozenset(
        {
            "DuplicateLoadBalancerName",
            "TooManyLoadBalancers",
            "InvalidConfigurationRequest",
            "InvalidSubnet",
            "SubnetNotFound",
            "InvalidSecurityGroup",
            "InvalidScheme",
            "OperationNotPermitted",
            "DuplicateTagKeys",
            "TooManyTags",
        }
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["name"])

    def _list(self, ctx: Context, desired: Sequence[Resource]) -> list[Tagged]:
        return load_balancers(ctx)

    def _list_arn(self, ctx: Context, arn: str) -> list[Tagged]:
        return load_balancers(ctx, [arn])

    def _identity_of(self, raw: Raw) -> tuple[Hashable, ...]:
        return (raw["LoadBalancerName"],)

    def _to_observed(
        self, item: Tagged, logical_id: str, ctx: Context, desired: Resource | None
    ) -> Observed:
        spec = _spec(item.raw)
        if desired is not None and "attributes" in desired.spec:
            out = ctx.elbv2.describe_load_balancer_attributes(LoadBalancerArn=item.arn)
            spec["attributes"] = _read_attributes(attribute_map(out["Attributes"]))
        state = item.raw.get("State") or {}
        return observed(
            self.kind,
            item,
            logical_id,
            ctx,
            spec=spec,
            attrs=_attrs(item.raw),
            ready=state.get("Code") in _READY,
            warnings=_state_warnings(item.raw),
        )

    def create(self, desired: Resource, ctx: Context) -> Observed:
        spec = {**defaults(self.kind), **desired.spec}
        try:
            out = ctx.elbv2.create_load_balancer(
                Name=spec["name"],
                Subnets=list(spec["subnets"]),
                SecurityGroups=list(spec["securityGroups"]),
                Scheme=spec["scheme"],
                Type="application",
                IpAddressType="ipv4",
                Tags=ctx.tag_list(desired),
            )["LoadBalancers"][0]
        except ClientError as err:
            if error_code(err) != "DuplicateLoadBalancerName":
                raise
            return self.adopt(desired, ctx, err)
        tags = self.claimed(desired, ctx, out["LoadBalancerArn"])
        # Tagged from birth: if this write is lost, the next run repairs it as drift.
        attributes = {**defaults(self.kind, "attributes"), **(spec.get("attributes") or {})}
        written = _write_attributes(ctx, out["LoadBalancerArn"], attributes, list(attributes))
        made = _spec(out)
        if "attributes" in desired.spec:
            made["attributes"] = _read_attributes(written)
        item = Tagged(out, out["LoadBalancerArn"], tags)
        state = (out.get("State") or {}).get("Code")
        return observed(
            self.kind,
            item,
            desired.logical_id,
            ctx,
            spec=made,
            attrs=_attrs(out),
            ready=state in _READY,
        )

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        arn, spec = observed.physical_id, desired.spec
        if diff.changed("subnets"):
            ctx.elbv2.set_subnets(LoadBalancerArn=arn, Subnets=list(spec["subnets"]))
        if diff.changed("securityGroups"):
            ctx.elbv2.set_security_groups(
                LoadBalancerArn=arn, SecurityGroups=list(spec["securityGroups"])
            )
        if diff.changed("attributes"):
            wanted = spec.get("attributes") or {}
            _write_attributes(ctx, arn, wanted, changed_keys(diff, "attributes", wanted))
        if diff.changed("tags"):
            sync_tags(ctx, arn, observed.tags, desired.ownership_tags())
        return self.observe_one(desired, ctx, arn)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # Its listeners go with it. With deletion protection on, AWS refuses and the
        # error is terminal: turning protection off is the user's decision, not plumb's.
        with ignoring(self.not_found_codes):
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
        "arnSuffix": arn_suffix(arn, ":loadbalancer/"),
    }


def _state_warnings(raw: Raw) -> tuple[str, ...]:
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


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
