"""LogGroup: 30 days' retention; kept forever by hand, the retention is put back."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    spec = {"logGroupName": "/ecs/acme-prod-sample", "retentionInDays": 30}
    return fx.resource(ctx, "LogGroup", "logs", spec)


def _keep_forever_by_hand(ctx: Context, found: Observed) -> None:
    ctx.logs.delete_retention_policy(logGroupName=found.physical_id)


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.logs.create_log_group(logGroupName=desired.spec["logGroupName"], tags={"team": "x"})


SAMPLE = Sample(
    _sample, _keep_forever_by_hand, "retentionInDays", ("PutRetentionPolicy",), foreign=_foreign
)
