"""LoadBalancer: an internet-facing ALB; an idle timeout raised by hand is repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    vpc = fx.vpc(ctx)
    spec = {
        "name": "acme-prod-sample-alb",
        "scheme": "internet-facing",
        "subnets": fx.subnets(ctx, vpc, count=2),
        "securityGroups": [fx.security_group(ctx, vpc, "sample-alb")],
        "attributes": {
            "idleTimeoutSeconds": 60,
            "dropInvalidHeaderFields": True,
            "deletionProtection": False,
        },
    }
    return fx.resource(ctx, "LoadBalancer", "alb", spec)


def _raise_idle_timeout_by_hand(ctx: Context, found: Observed) -> None:
    ctx.elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=found.physical_id,
        Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "120"}],
    )


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.elbv2.create_load_balancer(
        Name=desired.spec["name"],
        Subnets=list(desired.spec["subnets"]),
        SecurityGroups=list(desired.spec["securityGroups"]),
        Scheme="internet-facing",
        Type="application",
        Tags=[fx.OTHER_COST_CENTER],
    )


SAMPLE = Sample(
    _sample,
    _raise_idle_timeout_by_hand,
    "attributes.idleTimeoutSeconds",
    ("ModifyLoadBalancerAttributes",),
    foreign=_foreign,
)
