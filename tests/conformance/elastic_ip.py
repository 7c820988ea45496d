"""ElasticIp: a VPC address; a tag changed by hand is repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    return fx.resource(ctx, "ElasticIp", "eip", {"domain": "vpc"})


def _retag(ctx: Context, found: Observed) -> None:
    fx.retag_ec2(ctx, found.physical_id)


SAMPLE = Sample(_sample, _retag, "tags", ("CreateTags",))
