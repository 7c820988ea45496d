"""TargetGroup: an HTTP group of IP targets with a health check; the checked path changed
by hand is repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx

# Also the health check of test_target_group's group, whose reads it asserts.
HEALTH_CHECK = {
    "path": "/health",
    "protocol": "HTTP",
    "port": "traffic-port",
    "matcher": "200-399",
    "intervalSeconds": 15,
    "timeoutSeconds": 5,
    "healthyThresholdCount": 2,
    "unhealthyThresholdCount": 3,
}


def _sample(ctx: Context) -> Resource:
    spec = {
        "name": "acme-prod-sample-app",
        "protocol": "HTTP",
        "port": 3000,
        "vpcId": fx.vpc(ctx),
        "targetType": "ip",
        "healthCheck": dict(HEALTH_CHECK),
        "deregistrationDelaySeconds": 30,
    }
    return fx.resource(ctx, "TargetGroup", "app", spec)


def _check_the_root_by_hand(ctx: Context, found: Observed) -> None:
    ctx.elbv2.modify_target_group(TargetGroupArn=found.physical_id, HealthCheckPath="/")


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.elbv2.create_target_group(
        Name=desired.spec["name"],
        Protocol="HTTP",
        Port=desired.spec["port"],
        VpcId=desired.spec["vpcId"],
        TargetType="ip",
        Tags=[fx.OTHER_COST_CENTER],
    )


SAMPLE = Sample(
    _sample, _check_the_root_by_hand, "healthCheck.path", ("ModifyTargetGroup",), foreign=_foreign
)
