"""The Elastic Load Balancing v2 calls the load balancer, target group and listener tests
read moto through, and the recorder of what plumb's own client sends."""

from __future__ import annotations

from typing import Any

import boto3

from controller.aws.context import Context
from tests.conftest import REGION


def elb() -> Any:
    return boto3.client("elbv2", region_name=REGION)


def tags_of(arn: str) -> dict[str, str]:
    [found] = elb().describe_tags(ResourceArns=[arn])["TagDescriptions"]
    return {t["Key"]: t["Value"] for t in found["Tags"]}


def params_of(ctx: Context, operation: str) -> list[dict[str, Any]]:
    """The parameters of every `operation` call made through ctx's client from now on."""
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == operation:
            seen.append(dict(params))

    ctx.elbv2.meta.events.register("before-parameter-build", record)
    return seen
