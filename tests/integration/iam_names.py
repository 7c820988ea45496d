"""botocore operation -> IAM action, written down apart from what the kinds declare, so the
check that plumb's policy covers every call (test_conformance.py) can fail.

The rule is "<IAM prefix>:<OperationName>"; below are the services whose IAM prefix is not
boto3's client name, and the operations IAM knows by another name (from the Service
Authorization Reference's "Actions defined by ..." tables).
"""

from __future__ import annotations

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
