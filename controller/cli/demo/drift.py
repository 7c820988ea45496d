"""Out-of-band changes, as someone clicking in the AWS console would make them."""

from __future__ import annotations

import json
from collections.abc import Callable

import boto3


def shorten_lifecycle(stack: str, days: int = 7) -> str:
    s3 = boto3.client("s3")
    s3.put_bucket_lifecycle_configuration(
        Bucket=f"{stack}-storage",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "plumb-expire",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Expiration": {"Days": days},
                }
            ]
        },
    )
    return f"S3 lifecycle of {stack}-storage set to {days} days"


def add_sooner_lifecycle_rule(stack: str, days: int = 7) -> str:
    s3 = boto3.client("s3")
    bucket = f"{stack}-storage"
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    sooner = {
        "ID": "cleanup",
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "Expiration": {"Days": days},
    }
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [*rules, sooner]}
    )
    return f"a lifecycle rule 'cleanup' added to {bucket}: every object expires after {days} days"


def scale_service_by_hand(stack: str, count: int = 5) -> str:
    ecs = boto3.client("ecs")
    ecs.update_service(cluster=stack, service=f"{stack}-app", desiredCount=count)
    return f"service {stack}-app scaled to {count} tasks in the console"


def allow_public_policies(stack: str) -> str:
    s3 = boto3.client("s3")
    block = s3.get_public_access_block(Bucket=f"{stack}-storage")["PublicAccessBlockConfiguration"]
    block["BlockPublicPolicy"] = False
    s3.put_public_access_block(Bucket=f"{stack}-storage", PublicAccessBlockConfiguration=block)
    return f"BlockPublicPolicy turned off on {stack}-storage"


def widen_role_policy(stack: str, extra_action: str = "s3:GetObject") -> str:
    iam = boto3.client("iam")
    role = f"{stack}-task"
    doc = iam.get_role_policy(RoleName=role, PolicyName="bedrock-invoke")["PolicyDocument"]
    doc["Statement"][0]["Action"] = [*doc["Statement"][0]["Action"], extra_action]
    iam.put_role_policy(RoleName=role, PolicyName="bedrock-invoke", PolicyDocument=json.dumps(doc))
    return f"{extra_action} added to the bedrock-invoke policy of role {role}"


def open_redis_port(stack: str) -> str:
    ec2 = boto3.client("ec2")
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{stack}-redis"]}]
    )["SecurityGroups"]
    if not groups:
        return ""
    ec2.authorize_security_group_ingress(
        GroupId=groups[0]["GroupId"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 6379,
                "ToPort": 6379,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    return f"6379 opened to 0.0.0.0/0 on security group {stack}-redis"


CHANGES: list[Callable[[str], str]] = [
    add_sooner_lifecycle_rule,
    allow_public_policies,
    widen_role_policy,
    open_redis_port,
    scale_service_by_hand,
]
