"""Expansion of the Environment's loadBalancer section: the public edge of the stack.

Logical ids: lb/alb (internet-facing, in the public subnets, the ALB group), lb/target-group
(HTTP on service.port, target type ip, the health-check path), lb/https (443 with the
certificate and a current TLS policy, forwarding to the target group) and lb/http (80,
answering 301 to HTTPS).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.kinds.fields import schema_for
from controller.model import Resource
from reconcilers.environment.ids import (
    ALB,
    HTTP_LISTENER,
    HTTPS_LISTENER,
    SG_ALB,
    TARGET_GROUP,
    VPC,
    subnet_id,
)
from reconcilers.environment.view import StackView, ref

# TLS 1.3 with 1.2 for older clients: AWS's recommended policy for a public ALB.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def expand(view: StackView) -> list[Resource]:
    lb = view.section("loadBalancer")
    if lb is None:
        return []
    net = view.section("network") or {}
    azs = [str(az) for az in net.get("availabilityZones") or ()]
    public = azs[: len(net.get("publicSubnets") or ())]
    svc = view.section("service")
    port = int(svc["port"]) if svc is not None else _default_port()
    alb = view.resource(
        "LoadBalancer",
        ALB,
        {
            "name": f"{view.stack}-alb",
            "scheme": "internet-facing",
            "vpcId": ref(VPC),
            "subnets": [ref(subnet_id("public", az)) for az in public],
            "securityGroups": [ref(SG_ALB)],
            "attributes": {
                "idleTimeoutSeconds": 60,
                "dropInvalidHeaderFields": True,
                "deletionProtection": False,
            },
        },
        path=("loadBalancer",),
    )
    return [alb, _target_group(view, lb, port), *_listeners(view, lb)]


def _default_port() -> int:
    """A load balancer without a service forwards to the port a service would have."""
    return int(schema_for("Environment")["$defs"]["service"]["properties"]["port"]["default"])


def _target_group(view: StackView, lb: Mapping[str, Any], port: int) -> Resource:
    spec = {
        "name": f"{view.stack}-app",
        "protocol": "HTTP",
        "port": port,
        "vpcId": ref(VPC),
        "targetType": "ip",
        "healthCheck": {
            "path": lb["healthCheckPath"],
            "protocol": "HTTP",
            "port": "traffic-port",
            "matcher": "200-399",
            "intervalSeconds": 15,
            "timeoutSeconds": 5,
            "healthyThresholdCount": 2,
            "unhealthyThresholdCount": 3,
        },
        "deregistrationDelaySeconds": 30,
    }
    return view.resource(
        "TargetGroup", TARGET_GROUP, spec, path=("loadBalancer", "healthCheckPath")
    )


def _listeners(view: StackView, lb: Mapping[str, Any]) -> list[Resource]:
    https = {
        "loadBalancerArn": ref(ALB, "arn"),
        "port": 443,
        "protocol": "HTTPS",
        "certificateArn": lb["certificateArn"],
        "sslPolicy": TLS_POLICY,
        "defaultAction": {"type": "forward", "targetGroupArn": ref(TARGET_GROUP, "arn")},
    }
    http = {
        "loadBalancerArn": ref(ALB, "arn"),
        "port": 80,
        "protocol": "HTTP",
        "defaultAction": {
            "type": "redirect",
            "protocol": "HTTPS",
            "port": "443",
            "statusCode": "HTTP_301",
        },
    }
    return [
        view.resource("Listener", HTTPS_LISTENER, https, path=("loadBalancer", "certificateArn")),
        view.resource("Listener", HTTP_LISTENER, http, path=("loadBalancer",)),
    ]
