"""The target group kind: where a load balancer sends traffic (IP targets of an ECS service),
its health check and its deregistration delay.

What makes it risky, and where it is handled:
  - DescribeTargetGroups takes no tag filter: ownership is read with DescribeTags in
    batches of 20 ARNs and checked client-side (`_elbv2.ElbKind`); a target group of the
    desired name without our tags is `owned=False` and never taken over.
  - The deregistration delay is an attribute that DescribeTargetGroups does not report:
    DescribeTargetGroupAttributes is read only for desired target groups (orphans need
    none). It is written right after the create: the group is tagged from birth, so if
    this write is lost the next run repairs it as drift.
  - A create repeated after a lost answer gets the same target group back when the
    settings are the same (its tags are checked, `ElbKind.claimed`), else
    DuplicateTargetGroupName (moto always answers that); ours under that name is adopted
    (`ElbKind.adopt`), someone else's never.
  - A target group cannot be deleted while a listener forwards to it (ResourceInUse): that
    is transient, the listener goes first (`requires` orders it) and the next try works.
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
    changed_keys,
    grants,
)

_NOT_FOUND = "TargetGroupNotFound"
_DELAY = "deregistration_delay.timeout_seconds"
# healthCheck field -> the parameter of CreateTargetGroup/ModifyTargetGroup and the key of
# DescribeTargetGroups (the same names, except the matcher, which is nested).
_HEALTH = {
    "path": "HealthCheckPath",
    "protocol": "HealthCheckProtocol",
    "port": "HealthCheckPort",
    "matcher": "Matcher",
    "intervalSeconds": "HealthCheckIntervalSeconds",
    "timeoutSeconds": "HealthCheckTimeoutSeconds",
    "healthyThresholdCount": "HealthyThresholdCount",
    "unhealthyThresholdCount": "UnhealthyThresholdCount",
}

_TG = arn("elasticloadbalancing", "targetgroup/{name}/*")


_ACTIONS = (
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:DeleteTargetGroup",
)


@register
class TargetGroup(ElbKind):
    """A target group with a fixed name, found by its ownership tags."""

    descriptor = Descriptor(
        "TargetGroup",
        SERVICE,
        not_found_codes=frozenset({_NOT_FOUND}),
        terminal_codes=TERMINAL
        | {
            "DuplicateTargetGroupName",
            "TooManyTargetGroups",
        },
        requires=("Vpc",),
        iam=grants(_ACTIONS, _TG),
        tags=TAGS,
    )
    describe_op, list_key, arn_key = "describe_target_groups", "TargetGroups", "TargetGroupArn"
    exists_code = "DuplicateTargetGroupName"
    attributes_op = "describe_target_group_attributes"
    identity = (("name", "TargetGroupName"),)

    def _to_observed(
        self, item: Tagged, logical_id: str, ctx: Context, desired: Resource | None
    ) -> Observed:
        spec = _spec(item.raw)
        if desired is not None:
            delay = self.attributes_of(ctx, item.arn).get(_DELAY)
            spec["deregistrationDelaySeconds"] = as_int(delay)
        return self.observed(item, logical_id, ctx, spec, _attrs(item.raw))

    def create_item(self, desired: Resource, ctx: Context) -> Raw:
        spec, health = desired.spec, desired.spec["healthCheck"]
        out = ctx.elbv2.create_target_group(
            Name=spec["name"],
            Protocol=spec["protocol"],
            Port=int(spec["port"]),
            VpcId=spec["vpcId"],
            TargetType=spec["targetType"],
            HealthCheckEnabled=True,
            Tags=ctx.tag_list(desired),
            **_health_params(health, list(health)),
        )
        return dict(out["TargetGroups"][0])

    def made(self, desired: Resource, ctx: Context, item: Tagged) -> Observed:
        delay = desired.spec["deregistrationDelaySeconds"]
        _write_delay(ctx, item.arn, delay)
        spec = {**_spec(item.raw), "deregistrationDelaySeconds": delay}
        return self.observed(item, desired.logical_id, ctx, spec, _attrs(item.raw))

    def modify(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> None:
        arn, spec = observed.physical_id, desired.spec
        if diff.changed("healthCheck"):
            health = spec["healthCheck"]
            fields = changed_keys(diff, "healthCheck", health)
            # One ModifyTargetGroup carries every drifted health check field.
            ctx.elbv2.modify_target_group(TargetGroupArn=arn, **_health_params(health, fields))
        if diff.changed("deregistrationDelaySeconds"):
            _write_delay(ctx, arn, spec["deregistrationDelaySeconds"])

    def delete(self, observed: Observed, ctx: Context) -> None:
        # A listener still forwarding here makes it ResourceInUse until that listener goes.
        with self.deleting({"ResourceInUse"}):
            ctx.elbv2.delete_target_group(TargetGroupArn=observed.physical_id)


def _spec(raw: Raw) -> dict[str, Any]:
    health = {field: raw.get(key) for field, key in _HEALTH.items()}
    health["matcher"] = (raw.get("Matcher") or {}).get("HttpCode")
    return {
        "name": raw["TargetGroupName"],
        "protocol": raw.get("Protocol"),
        "port": raw.get("Port"),
        "vpcId": raw.get("VpcId"),
        "targetType": raw.get("TargetType"),
        "healthCheck": health,
    }


def _attrs(raw: Raw) -> dict[str, Any]:
    # CloudWatch's TargetGroup dimension: "targetgroup/{name}/{id}".
    return {
        "name": raw["TargetGroupName"],
        "arnSuffix": str(raw["TargetGroupArn"]).rsplit(":", 1)[-1],
    }


def _health_params(health: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for field in fields:
        if field not in health:
            continue
        value = health[field]
        params[_HEALTH[field]] = {"HttpCode": str(value)} if field == "matcher" else value
    return params


def _write_delay(ctx: Context, arn: str, seconds: Any) -> None:
    ctx.elbv2.modify_target_group_attributes(
        TargetGroupArn=arn, Attributes=[{"Key": _DELAY, "Value": str(int(seconds))}]
    )
