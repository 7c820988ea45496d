"""TaskDefinition: one Fargate container; a revision with another image registered by hand
is drift, repaired by one revision of plumb's."""

from __future__ import annotations

from typing import Any

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx

_FARGATE = ("requiresCompatibilities", "networkMode", "runtimePlatform")


def sample_spec(ctx: Context, family: str = "acme-prod-sample") -> dict[str, Any]:
    account = ctx.account_id
    return {
        "family": family,
        "cpu": "512",
        "memory": "1024",
        "executionRoleArn": f"arn:aws:iam::{account}:role/plumb/{family}-execution",
        "taskRoleArn": f"arn:aws:iam::{account}:role/plumb/{family}-task",
        "container": {
            "name": "app",
            "image": f"{account}.dkr.ecr.{ctx.region}.amazonaws.com/acme-app:1.4.2",
            "port": 3000,
            "environment": {"NODE_ENV": "production", "AWS_REGION": ctx.region},
            "secrets": {
                "API_KEY": f"arn:aws:secretsmanager:{ctx.region}:{account}:secret:acme-key-AbCdEf"
            },
            "logGroup": "/ecs/acme-prod",
            "logStreamPrefix": "app",
        },
    }


def _sample(ctx: Context) -> Resource:
    return fx.resource(ctx, "TaskDefinition", "task-definition", sample_spec(ctx))


def register_by_hand(ctx: Context, found: Observed, **container: Any) -> str:
    """A new revision of the same family, made outside plumb from the current one with
    `container` fields changed (same tags); returns its ARN."""
    out = ctx.ecs.describe_task_definition(taskDefinition=found.attrs["arn"], include=["TAGS"])
    td = out["taskDefinition"]
    keep = ("family", "cpu", "memory", "executionRoleArn", "taskRoleArn", *_FARGATE)
    args = {k: td[k] for k in keep if k in td}
    definitions = [{**td["containerDefinitions"][0], **container}]
    made = ctx.ecs.register_task_definition(
        **args, containerDefinitions=definitions, tags=out["tags"]
    )
    return str(made["taskDefinition"]["taskDefinitionArn"])


def _new_image_by_hand(ctx: Context, found: Observed) -> None:
    register_by_hand(ctx, found, image="public.ecr.aws/docker/library/busybox:latest")


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.ecs.register_task_definition(
        family=desired.spec["family"],
        containerDefinitions=[{"name": "theirs", "image": "busybox", "memory": 128}],
        tags=[{"key": "team", "value": "x"}],
    )


SAMPLE = Sample(
    _sample,
    _new_image_by_hand,
    "container.image",
    ("RegisterTaskDefinition", "DeregisterTaskDefinition"),
    foreign=_foreign,
)
