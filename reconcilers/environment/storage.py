"""Expansion of the Environment's storage section: the stack's S3 bucket.

The bucket "{product}-{env}-storage" is encrypted (SSE-S3), blocks all public access,
expires objects after `expireAfterDays`, and refuses any request not made over TLS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.model import Resource
from reconcilers.environment.view import StackView

BUCKET = "storage/bucket"


def expand(view: StackView) -> list[Resource]:
    storage = view.section("storage")
    if storage is None:
        return []
    name = bucket_name(view)
    spec = {
        "bucketName": name,
        "encryption": {"algorithm": "AES256"},
        "publicAccessBlock": {
            "blockPublicAcls": True,
            "ignorePublicAcls": True,
            "blockPublicPolicy": True,
            "restrictPublicBuckets": True,
        },
        "lifecycle": {"expireAfterDays": int(storage["expireAfterDays"])},
        "policy": tls_only_policy(name, partition_of(view.region)),
    }
    policy = str(storage["deletionPolicy"])
    return [view.resource("Bucket", BUCKET, spec, path=("storage",), deletion_policy=policy)]


def bucket_name(view: StackView) -> str:
    return f"{view.product}-{view.env}-storage"


def partition_of(region: str) -> str:
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def tls_only_policy(name: str, partition: str) -> Mapping[str, Any]:
    """Deny every S3 action on the bucket and its objects over plain HTTP."""
    arn = f"arn:{partition}:s3:::{name}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
