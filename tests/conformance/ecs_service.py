"""EcsService: a Fargate service behind a target group, on a cluster, network and task
definition made straight through boto3; a scale by hand is repaired."""

from __future__ import annotations

from typing import Any

from controller.aws.context import Context
from controller.model import Observed, Resource
from reconcilers.task_definition import register_args
from tests.conformance import Sample
from tests.conformance import fixtures as fx
from tests.conformance.task_definition import sample_spec


def sample_spec_for(ctx: Context, name: str = "acme-prod-sample") -> dict[str, Any]:
    """A service spec on a cluster, network, target group and task definition made
    straight through boto3 (untagged, so no observe mistakes them for plumb's)."""
    cluster = ctx.ecs.create_cluster(clusterName=f"{name}-cluster")["cluster"]["clusterArn"]
    vpc = fx.vpc(ctx)
    subnets = fx.subnets(ctx, vpc, count=2)
    group = fx.security_group(ctx, vpc, name=f"{name}-tasks")
    target_group = ctx.elbv2.create_target_group(
        Name=f"{name}-tg"[:32], Protocol="HTTP", Port=3000, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    family = fx.resource(ctx, "TaskDefinition", "task", sample_spec(ctx, f"{name}-task"))
    args = {k: v for k, v in register_args(family, ctx).items() if k != "tags"}
    task = ctx.ecs.register_task_definition(**args)["taskDefinition"]["taskDefinitionArn"]
    return {
        "serviceName": name,
        "cluster": cluster,
        "taskDefinition": task,
        "desiredCount": 2,
        "launchType": "FARGATE",
        "subnets": subnets,
        "securityGroups": [group],
        "assignPublicIp": "DISABLED",
        "loadBalancer": {
            "targetGroupArn": target_group,
            "containerName": "app",
            "containerPort": 3000,
        },
        "healthCheckGracePeriodSeconds": 60,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "minimumHealthyPercent": 100,
        "maximumPercent": 200,
    }


def _sample(ctx: Context) -> Resource:
    spec = sample_spec_for(ctx)
    # A service is found through its cluster: the stack's own, as plumb's would be.
    tags = [{"key": k, "value": v} for k, v in fx.owned_by_stack("cluster").items()]
    ctx.ecs.tag_resource(resourceArn=spec["cluster"], tags=tags)
    return fx.resource(ctx, "EcsService", "service", spec)


def _scale_by_hand(ctx: Context, found: Observed) -> None:
    ctx.ecs.update_service(
        cluster=found.attrs["clusterArn"], service=found.attrs["arn"], desiredCount=5
    )


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.ecs.create_service(
        cluster=desired.spec["cluster"],
        serviceName=desired.spec["serviceName"],
        taskDefinition=desired.spec["taskDefinition"],
        desiredCount=1,
        tags=[{"key": "team", "value": "x"}],
    )


SAMPLE = Sample(_sample, _scale_by_hand, "desiredCount", ("UpdateService",), foreign=_foreign)
