"""botocore operation -> IAM action, written down apart from what the kinds declare, so the
check that plumb's policy covers every call (test_conformance.py) can fail.

The rule is "<IAM prefix>:<OperationName>"; below are the services whose IAM prefix is not
boto3's client name, and the operations IAM knows by another name (from the Service
Authorization Reference's "Actions defined by ..." tables).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

IAM_PREFIX = {
    "elbv2": "elasticloadbalancing",
    "docdb": "rds",  # DocumentDB's API is RDS's under another endpoint name
}
RENAMED = {
    "s3:ListBuckets": "s3:ListAllMyBuckets",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "s3:PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "s3:DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "s3:DeleteBucketTagging": "s3:PutBucketTagging",
}


def iam_action(call: str) -> str:
    """ "elbv2:DescribeTags", as the call counter keys a call, ->
    "elasticloadbalancing:DescribeTags"."""
    service, operation = call.split(":", 1)
    return RENAMED.get(call, f"{IAM_PREFIX.get(service, service)}:{operation}")


def allowed(policy: dict[str, Any]) -> set[str]:
    """The actions a policy document allows, lower-cased as IAM compares them."""
    out: set[str] = set()
    for statement in policy["Statement"]:
        if statement["Effect"] == "Allow":
            actions = statement["Action"]
            out.update(a.lower() for a in ([actions] if isinstance(actions, str) else actions))
    return out


def not_granted(calls: Iterable[str], policy: dict[str, Any]) -> list[str]:
    granted = allowed(policy)
    return sorted(
        f"{call} ({iam_action(call)})" for call in calls if iam_action(call).lower() not in granted
    )


# -- the resources a call touches, as IAM names them --------------------------------------

ACCOUNT = "123456789012"  # moto's
# Parameters that name a resource, by service: the ARN IAM authorizes the call against.
_NAMED = {
    "s3": {"Bucket": "arn:aws:s3:::{}"},
    "logs": {"logGroupName": "arn:aws:logs:{r}:{a}:log-group:{}"},
    "ecr": {"repositoryName": "arn:aws:ecr:{r}:{a}:repository/{}"},
    "ecs": {
        "clusterName": "arn:aws:ecs:{r}:{a}:cluster/{}",
        "family": "arn:aws:ecs:{r}:{a}:task-definition/{}:1",
    },
    "elbv2": {
        "Name": "arn:aws:elasticloadbalancing:{r}:{a}:{kind}/{}/0123456789abcdef",
    },
    "elasticache": {
        "ReplicationGroupId": "arn:aws:elasticache:{r}:{a}:replicationgroup:{}",
        "CacheSubnetGroupName": "arn:aws:elasticache:{r}:{a}:subnetgroup:{}",
        "FinalSnapshotIdentifier": "arn:aws:elasticache:{r}:{a}:snapshot:{}",
    },
    "docdb": {
        "DBClusterIdentifier": "arn:aws:rds:{r}:{a}:cluster:{}",
        "DBInstanceIdentifier": "arn:aws:rds:{r}:{a}:db:{}",
        "DBSubnetGroupName": "arn:aws:rds:{r}:{a}:subgrp:{}",
        "FinalDBSnapshotIdentifier": "arn:aws:rds:{r}:{a}:cluster-snapshot:{}",
    },
    "secretsmanager": {"Name": "arn:aws:secretsmanager:{r}:{a}:secret:{}-AbCdEf"},
}
_ARNS = ("resourceArn", "ResourceName", "LoadBalancerArn", "TargetGroupArn", "ListenerArn")


def touched(service: str, operation: str, params: dict[str, Any], region: str) -> list[str]:
    """The ARNs of the resources a call names; [] where IAM names them by an id AWS picks
    (EC2: scoped by tags, which moto does not evaluate)."""
    out = [str(params[k]) for k in _ARNS if str(params.get(k, "")).startswith("arn:")]
    out += [str(a) for a in params.get("ResourceArns") or ()]
    if str(params.get("SecretId", "")).startswith("arn:"):
        out.append(str(params["SecretId"]))
    if service == "iam" and "RoleName" in params:
        path = str(params.get("Path", "/plumb/"))
        out.append(f"arn:aws:iam::{ACCOUNT}:role{path}{params['RoleName']}")
    if service == "ecs" and ("serviceName" in params or "service" in params):
        cluster = str(params.get("cluster", "default")).rsplit("/", 1)[-1]
        name = str(params.get("serviceName") or params["service"]).rsplit("/", 1)[-1]
        return [f"arn:aws:ecs:{region}:{ACCOUNT}:service/{cluster}/{name}"]
    if service == "ecs" and operation in ("UpdateCluster", "DeleteCluster"):
        out.append(f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/{params['cluster']}")
    kind = "loadbalancer/app" if operation == "CreateLoadBalancer" else "targetgroup"
    for key, template in _NAMED.get(service, {}).items():
        if key in params:
            out.append(template.format(params[key], r=region, a=ACCOUNT, kind=kind))
    return sorted(set(out))


def _matches(pattern: str, resource: str) -> bool:
    """IAM's ARN matching: * any run of characters, ? one, case-sensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, resource) is not None


def not_allowed_on(call: tuple[str, str, str], policy: dict[str, Any]) -> str:
    """ "" when some Allow statement of `policy` grants the call's action on the resource;
    what is wrong otherwise. Conditions are not evaluated: moto evaluates none either."""
    action, resource = iam_action(f"{call[0]}:{call[1]}").lower(), call[2]
    for statement in policy["Statement"]:
        actions = statement["Action"]
        listed = [actions] if isinstance(actions, str) else actions
        if statement["Effect"] != "Allow" or action not in {a.lower() for a in listed}:
            continue
        resources = statement["Resource"]
        for pattern in [resources] if isinstance(resources, str) else resources:
            if _matches(pattern, resource):
                return ""
    return f"{call[0]}:{call[1]} on {resource}"
