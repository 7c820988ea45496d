"""The EcsCluster reconciler against moto: Container Insights and tags, never a foreign cluster."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.errors import TransientError
from controller.kinds.tags import to_list
from controller.model import Resource
from reconcilers.ecs_cluster import EcsCluster, owned_clusters
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.kind_passes import HAND_TAGS, assert_tags_repaired, create_one, noop_calls

NAME = "acme-prod"
LOGICAL_ID = "acme-prod/app/cluster"
ARN = f"arn:aws:ecs:{REGION}:123456789012:cluster/{NAME}"


def desired(name: str = NAME, logical_id: str = LOGICAL_ID, **spec: Any) -> Resource:
    full = {"clusterName": name, "containerInsights": "enabled", **spec}
    return Resource("EcsCluster", logical_id, full, REGION, tags={"CostCenter": "4711"})


def ecs() -> Any:
    return boto3.client("ecs", region_name=REGION)


def cluster(name: str = NAME) -> dict[str, Any]:
    out = ecs().describe_clusters(clusters=[name], include=["TAGS", "SETTINGS"])
    return dict(out["clusters"][0])


def tags_of(name: str = NAME) -> dict[str, str]:
    return {t["key"]: t["value"] for t in cluster(name).get("tags", [])}


def other_tags(stack: str, logical_id: str) -> list[dict[str, str]]:
    return [{"key": "plumb:stack", "value": stack}, {"key": "plumb:id", "value": logical_id}]


@pytest.fixture
def created(ctx: Context) -> Resource:
    return create_one(EcsCluster(), desired(), ctx)


def test_create_sets_insights_and_tags(ctx: Context, created: Resource) -> None:
    assert cluster()["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert tags_of() == created.ownership_tags()
    observed = EcsCluster().observe([created], ctx)[LOGICAL_ID]
    assert observed.attrs == {"id": ARN, "arn": ARN, "name": NAME}
    assert observed.ready


def test_second_run_is_noop_with_two_reads(ctx: Context, created: Resource) -> None:
    writes, reads = noop_calls(EcsCluster(), created, ctx)
    assert (writes, reads) == (0, {"ecs:ListClusters": 1, "ecs:DescribeClusters": 1})


def test_changed_tags_are_repaired(ctx: Context, created: Resource) -> None:
    ecs().tag_resource(resourceArn=ARN, tags=to_list(HAND_TAGS, "key", "value"))

    assert_tags_repaired(EcsCluster(), created, ctx, "ecs")
    assert tags_of() == created.ownership_tags()


def test_a_deleted_cluster_is_absent_and_can_be_created_again(
    ctx: Context, created: Resource
) -> None:
    rec = EcsCluster()
    observed = rec.observe([created], ctx)[LOGICAL_ID]
    rec.delete(observed, ctx)
    assert cluster()["status"] == "INACTIVE"
    assert rec.observe([created], ctx) == {}
    assert reconcile_once(rec, [created], ctx)[0] == {LOGICAL_ID: "create"}
    assert tags_of() == created.ownership_tags()


def test_a_cluster_that_still_runs_services_is_transient_on_delete() -> None:
    err = ClientError(
        {"Error": {"Code": "ClusterContainsServicesException", "Message": "has services"}},
        "DeleteCluster",
    )
    assert isinstance(EcsCluster().classify(err), TransientError)


def test_an_orphan_is_observed_and_owned_clusters_lists_only_ours(
    ctx: Context, created: Resource
) -> None:
    ecs().create_cluster(clusterName="someone-else")
    ecs().create_cluster(
        clusterName="acme-staging", tags=other_tags("acme-staging", "acme-staging/app/cluster")
    )
    ecs().create_cluster(clusterName="beta-prod", tags=other_tags("beta-prod", "beta-prod/app/c"))

    found = EcsCluster().observe([created], ctx)

    assert set(found) == {LOGICAL_ID, "acme-staging/app/cluster"}
    names = sorted(c["clusterName"] for c in owned_clusters(ctx))
    assert names == ["acme-prod", "acme-staging"]
    ecs().delete_cluster(cluster="acme-staging")
    assert [c["clusterName"] for c in owned_clusters(ctx)] == ["acme-prod"]


def test_more_than_a_hundred_clusters_are_described_in_batches(ctx: Context) -> None:
    for i in range(101):
        ecs().create_cluster(clusterName=f"someone-{i}")
    res = desired(name="someone-100")

    found: dict[str, Any] = {}
    _, reads = count_calls(ctx, lambda: found.update(EcsCluster().observe([res], ctx)))

    assert reads["ecs:DescribeClusters"] == 2
    assert found[LOGICAL_ID].owned is False
