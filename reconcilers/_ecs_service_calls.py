"""What an ECS service's writes send: CreateService's arguments, and UpdateService's for
what drifted and nothing else (every UpdateService starts a deployment)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.aws.context import Context
from controller.model import Diff, Resource

# ECS takes client tokens of at most 36 characters.
TOKEN_MAX = 36
_NETWORK = ("subnets", "securityGroups", "assignPublicIp")
_DEPLOYMENT = ("deploymentCircuitBreaker", "minimumHealthyPercent", "maximumPercent")


def create_args(desired: Resource, ctx: Context, token: str) -> dict[str, Any]:
    spec = desired.spec
    args: dict[str, Any] = {
        "cluster": spec["cluster"],
        "serviceName": spec["serviceName"],
        "taskDefinition": spec["taskDefinition"],
        "desiredCount": int(spec["desiredCount"]),
        "launchType": spec["launchType"],
        "networkConfiguration": _network(spec),
        "healthCheckGracePeriodSeconds": int(spec["healthCheckGracePeriodSeconds"]),
        "deploymentConfiguration": _deployment(spec),
        # Tasks carry the service's tags, and ECS's own (aws:ecs:serviceName, ...).
        "propagateTags": "SERVICE",
        "enableECSManagedTags": True,
        "tags": ctx.tag_list(desired, "key", "value"),
        "clientToken": token,
    }
    if spec.get("loadBalancer"):
        lb = spec["loadBalancer"]
        args["loadBalancers"] = [{**lb, "containerPort": int(lb["containerPort"])}]
    return args


def update_args(spec: Mapping[str, Any], diff: Diff) -> dict[str, Any]:
    """UpdateService's arguments for what the diff names, and nothing else."""
    args: dict[str, Any] = {}
    if diff.changed("taskDefinition"):
        args["taskDefinition"] = spec["taskDefinition"]  # the full ARN, never family:rev
    if diff.changed("desiredCount"):
        args["desiredCount"] = int(spec["desiredCount"])
    if any(diff.changed(key) for key in _NETWORK):
        args["networkConfiguration"] = _network(spec)
    if diff.changed("healthCheckGracePeriodSeconds"):
        args["healthCheckGracePeriodSeconds"] = int(spec["healthCheckGracePeriodSeconds"])
    if any(diff.changed(key) for key in _DEPLOYMENT):
        args["deploymentConfiguration"] = _deployment(spec)
    return args


def _network(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"awsvpcConfiguration": {key: spec[key] for key in _NETWORK}}


def _deployment(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "deploymentCircuitBreaker": dict(spec["deploymentCircuitBreaker"]),
        "minimumHealthyPercent": int(spec["minimumHealthyPercent"]),
        "maximumPercent": int(spec["maximumPercent"]),
    }
