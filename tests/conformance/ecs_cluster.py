"""EcsCluster: Container Insights on; turned off by hand, it is turned on again."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx

INSIGHTS = "containerInsights"


def _sample(ctx: Context) -> Resource:
    spec = {"clusterName": "acme-prod-sample", INSIGHTS: "enabled"}
    return fx.resource(ctx, "EcsCluster", "cluster", spec)


def _insights_off_by_hand(ctx: Context, found: Observed) -> None:
    ctx.ecs.update_cluster(
        cluster=found.physical_id, settings=[{"name": INSIGHTS, "value": "disabled"}]
    )


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.ecs.create_cluster(
        clusterName=desired.spec["clusterName"], tags=[{"key": "team", "value": "x"}]
    )


SAMPLE = Sample(_sample, _insights_off_by_hand, INSIGHTS, ("UpdateCluster",), foreign=_foreign)
