"""Repository: immutable tags, scan on push, a lifecycle policy; tags made overwritable
by hand are repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from reconcilers.repository import keep_last_images_policy
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    spec = {
        "repositoryName": "acme-prod-sample-app",
        "imageTagMutability": "IMMUTABLE",
        "scanOnPush": True,
        "encryptionType": "AES256",
        "lifecyclePolicy": keep_last_images_policy(10),
    }
    return fx.resource(ctx, "Repository", "repository", spec)


def _allow_overwriting_tags(ctx: Context, found: Observed) -> None:
    ctx.ecr.put_image_tag_mutability(repositoryName=found.physical_id, imageTagMutability="MUTABLE")


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.ecr.create_repository(
        repositoryName=desired.spec["repositoryName"], tags=[fx.OTHER_COST_CENTER]
    )


SAMPLE = Sample(
    _sample,
    _allow_overwriting_tags,
    "imageTagMutability",
    ("PutImageTagMutability",),
    foreign=_foreign,
)
