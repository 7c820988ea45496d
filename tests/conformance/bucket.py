"""Bucket: every managed setting; a public-policy block lifted by hand is repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx

_BLOCKS = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
_AWS_BLOCKS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _sample(ctx: Context) -> Resource:
    name = "acme-prod-sample-storage"
    spec = {
        "bucketName": name,
        "encryption": {"algorithm": "AES256"},
        "publicAccessBlock": {field: True for field in _BLOCKS},
        "lifecycle": {"expireAfterDays": 90},
        "policy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        },
    }
    return fx.resource(ctx, "Bucket", "bucket", spec, deletion_policy="Retain")


def _allow_public_policies(ctx: Context, found: Observed) -> None:
    config = {key: True for key in _AWS_BLOCKS} | {"BlockPublicPolicy": False}
    ctx.s3.put_public_access_block(Bucket=found.physical_id, PublicAccessBlockConfiguration=config)


def _foreign(ctx: Context, desired: Resource) -> None:
    name = desired.spec["bucketName"]
    ctx.s3.create_bucket(Bucket=name)
    ctx.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [fx.OTHER_COST_CENTER]})


SAMPLE = Sample(
    _sample,
    _allow_public_policies,
    "publicAccessBlock.blockPublicPolicy",
    ("PutPublicAccessBlock",),
    foreign=_foreign,
)
