"""The target group kind: where a load balancer sends traffic (IP targets of an ECS service),
its health check and its deregistration delay.

What makes it risky, and where it is handled:
  - DescribeTargetGroups takes no tag filter: ownership is read with DescribeTags in
    batches of 20 ARNs and checked client-side (`_elbv2.ElbKind`); a target group of the
    desired name without our tags is `owned=False` and never taken over.
  - The deregistration delay is an attribute that DescribeTargetGroups does not report:
    DescribeTargetGroupAttributes is read only for desired target groups whose spec names
    it (orphans need none).
  - A create repeated after a lost answer gets the same target group back when the
    settings are the same (its tags are checked, `ElbKind.claimed`), else
    DuplicateTargetGroupName (moto always answers that); ours under that name is adopted
    (`ElbKind.adopt`), someone else's never.
  - A target group cannot be deleted while a listener forwards to it (ResourceInUse): that
    is transient, the listener goes first (`requires` orders it) and the next try works.
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
from reconcilers._ec2 import transient_on
from reconcilers._elbv2 import SHARED_ACTIONS as ELB_SHARED
from reconcilers._elbv2 import (
    ElbKind,
    Raw,
    Tagged,
    as_int,
    attribute_map,
    changed_keys,
    defaults,
    observed,
    sync_tags,
    tagged,
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


@register
class TargetGroup(ElbKind):
    """A target group with a fixed name, found by its ownership tags."""

    kind = "TargetGroup"
    iam_actions = (
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:CreateTargetGroup",
        "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
        "elasticloadbalancing:DeleteTargetGroup",
        *ELB_SHARED,
    )
    iam_scopes = (
        Scope(
            but(
                iam_actions,
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                *ELB_SHARED,
            ),
            (_TG,),
        ),
        *tagging("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags", (_TG,)),
    )
    requires = ("Vpc",)
    not_found_codes = frozenset({_NOT_FOUND})
    terminal_codes = frozenset(
        {
            "DuplicateTargetGroupName",
            "TooManyTargetGroups",
            "InvalidConfigurationRequest",
            "DuplicateTagKeys",
            "TooManyTags",
        }
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["name"])

    def _list(self, ctx: Context, desired: Sequence[Resource]) -> list[Tagged]:
        listed = ctx.describe("elbv2", "describe_target_groups", "TargetGroups")
        return tagged(ctx, listed, "TargetGroupArn")

    def _list_arn(self, ctx: Context, arn: str) -> list[Tagged]:
        listed = ctx.elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
        return tagged(ctx, listed, "TargetGroupArn")

    def _identity_of(self, raw: Raw) -> tuple[Hashable, ...]:
        return (raw["TargetGroupName"],)

    def _to_observed(
        self, item: Tagged, logical_id: str, ctx: Context, desired: Resource | None
    ) -> Observed:
        spec = _spec(item.raw)
        if desired is not None and "deregistrationDelaySeconds" in desired.spec:
            out = ctx.elbv2.describe_target_group_attributes(TargetGroupArn=item.arn)
            spec["deregistrationDelaySeconds"] = as_int(
                attribute_map(out["Attributes"]).get(_DELAY)
            )
        return observed(self.kind, item, logical_id, ctx, spec=spec, attrs=_attrs(item.raw))

    def create(self, desired: Resource, ctx: Context) -> Observed:
        spec = {**defaults(self.kind), **desired.spec}
        health = {**defaults(self.kind, "healthCheck"), **(spec.get("healthCheck") or {})}
        try:
            out = ctx.elbv2.create_target_group(
                Name=spec["name"],
                Protocol=spec["protocol"],
                Port=int(spec["port"]),
                VpcId=spec["vpcId"],
                TargetType=spec["targetType"],
                HealthCheckEnabled=True,
                Tags=ctx.tag_list(desired),
                **_health_params(health, list(health)),
            )["TargetGroups"][0]
        except ClientError as err:
            if error_code(err) != "DuplicateTargetGroupName":
                raise
            return self.adopt(desired, ctx, err)
        tags = self.claimed(desired, ctx, out["TargetGroupArn"])
        # Tagged from birth: if this write is lost, the next run repairs it as drift.
        _write_delay(ctx, out["TargetGroupArn"], spec.get("deregistrationDelaySeconds"))
        made = _spec(out)
        if "deregistrationDelaySeconds" in desired.spec:
            made["deregistrationDelaySeconds"] = spec["deregistrationDelaySeconds"]
        item = Tagged(out, out["TargetGroupArn"], tags)
        return observed(self.kind, item, desired.logical_id, ctx, spec=made, attrs=_attrs(out))

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        arn, spec = observed.physical_id, desired.spec
        if diff.changed("healthCheck"):
            health = spec.get("healthCheck") or {}
            fields = changed_keys(diff, "healthCheck", health)
            # One ModifyTargetGroup carries every drifted health check field.
            ctx.elbv2.modify_target_group(TargetGroupArn=arn, **_health_params(health, fields))
        if diff.changed("deregistrationDelaySeconds"):
            _write_delay(ctx, arn, spec.get("deregistrationDelaySeconds"))
        if diff.changed("tags"):
            sync_tags(ctx, arn, observed.tags, desired.ownership_tags())
        return self.observe_one(desired, ctx, arn)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # A listener still forwarding here makes it ResourceInUse until that listener goes.
        with ignoring(self.not_found_codes), transient_on({"ResourceInUse"}):
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
    if seconds is None:
        return
    ctx.elbv2.modify_target_group_attributes(
        TargetGroupArn=arn, Attributes=[{"Key": _DELAY, "Value": str(int(seconds))}]
    )
