"""Secret: a name and description, no value; a description changed by hand is repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    spec = {"name": "acme/prod/sample-key", "description": "conformance sample"}
    return fx.resource(ctx, "Secret", "secret", spec)


def _describe_by_hand(ctx: Context, found: Observed) -> None:
    ctx.secretsmanager.update_secret(SecretId=found.attrs["arn"], Description="changed by hand")


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.secretsmanager.create_secret(
        Name=desired.spec["name"], Description="theirs", Tags=[fx.OTHER_COST_CENTER]
    )


SAMPLE = Sample(_sample, _describe_by_hand, "description", ("UpdateSecret",), foreign=_foreign)
