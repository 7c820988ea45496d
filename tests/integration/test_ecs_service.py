"""The EcsService reconciler against moto: one UpdateService for what drifted, never a second
service, never someone else's."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from controller.aws.context import Context
from controller.kinds.diff import diff
from controller.kinds.fields import schema_defaults
from controller.model import Observed, Resource
from reconcilers.ecs_service import EcsService
from tests.conformance.ecs_service import sample_spec_for
from tests.conformance.task_definition import register_by_hand
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.kind_passes import create_one, noop_calls, once_each, pass_calls

NAME = "acme-prod-app"
LOGICAL_ID = "acme-prod/app/service"
UPDATE = "ecs:UpdateService"


def resource(spec: dict[str, Any], logical_id: str = LOGICAL_ID) -> Resource:
    return Resource("EcsService", logical_id, spec, REGION, tags={"CostCenter": "4711"})


def ecs() -> Any:
    return boto3.client("ecs", region_name=REGION)


def described(res: Resource) -> dict[str, Any]:
    out = ecs().describe_services(
        cluster=res.spec["cluster"], services=[res.spec["serviceName"]], include=["TAGS"]
    )
    return dict(out["services"][0])


def observe(ctx: Context, *res: Resource) -> dict[str, Observed]:
    return EcsService().observe(list(res), ctx)


@pytest.fixture
def spec(ctx: Context) -> dict[str, Any]:
    return sample_spec_for(ctx, NAME)


@pytest.fixture
def created(ctx: Context, spec: dict[str, Any]) -> Resource:
    return create_one(EcsService(), resource(spec), ctx)


def test_create_sends_the_deployment_settings_and_reads_them_back(created: Resource) -> None:
    svc = described(created)
    assert svc["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }
    assert svc["healthCheckGracePeriodSeconds"] == 60
    assert (svc["enableECSManagedTags"], svc["propagateTags"]) == (True, "SERVICE")
    assert svc["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": created.spec["subnets"],
        "securityGroups": created.spec["securityGroups"],
        "assignPublicIp": "DISABLED",
    }
    assert svc["loadBalancers"] == [created.spec["loadBalancer"]]
    assert svc["taskDefinition"] == created.spec["taskDefinition"]
    assert {t["key"]: t["value"] for t in svc["tags"]} == created.ownership_tags()


def test_observed_service_is_ready_with_its_attrs(ctx: Context, created: Resource) -> None:
    found = observe(ctx, created)[LOGICAL_ID]
    svc = described(created)
    assert found.ready and found.owned and not found.warnings
    assert found.attrs == {
        "id": svc["serviceArn"],
        "arn": svc["serviceArn"],
        "name": NAME,
        "clusterArn": created.spec["cluster"],
    }


def test_a_noop_observe_reads_once_per_cluster_and_writes_nothing(
    ctx: Context, created: Resource
) -> None:
    reads = once_each("ecs", "ListClusters", "DescribeClusters", "ListServices", "DescribeServices")
    assert noop_calls(EcsService(), created, ctx) == (0, reads)


def test_fields_the_spec_leaves_out_are_not_drift(ctx: Context, spec: dict[str, Any]) -> None:
    keep = ("serviceName", "cluster", "taskDefinition", "desiredCount", "subnets")
    written = {k: spec[k] for k in keep} | {"securityGroups": spec["securityGroups"]}
    # The engine hands a kind its spec with the schema's defaults filled in.
    lean = resource(schema_defaults("EcsService") | written)
    reconcile_once(EcsService(), [lean], ctx)
    # The schema's defaults were applied at create, and read back as ECS reports them.
    full = resource({k: v for k, v in spec.items() if k != "loadBalancer"})
    assert not diff(full, observe(ctx, lean)[LOGICAL_ID])
    assert reconcile_once(EcsService(), [lean], ctx)[0] == {LOGICAL_ID: "noop"}


def test_a_changed_desired_count_is_one_update_and_no_new_revision(
    ctx: Context, created: Resource
) -> None:
    more = resource({**created.spec, "desiredCount": 4})

    writes, calls = count_calls(ctx, lambda: reconcile_once(EcsService(), [more], ctx))

    assert (writes, calls[UPDATE]) == (1, 1)
    assert "ecs:RegisterTaskDefinition" not in calls
    svc = described(more)
    assert (svc["desiredCount"], svc["taskDefinition"]) == (4, created.spec["taskDefinition"])
    assert reconcile_once(EcsService(), [more], ctx)[0] == {LOGICAL_ID: "noop"}


def test_a_changed_task_definition_is_one_update_with_the_full_arn(
    ctx: Context, created: Resource
) -> None:
    current = Observed("TaskDefinition", "t", "x", {}, {"arn": created.spec["taskDefinition"]})
    newer = register_by_hand(ctx, current, image="busybox:2")
    moved = resource({**created.spec, "taskDefinition": newer})
    assert diff(moved, observe(ctx, moved)[LOGICAL_ID]).paths == ["taskDefinition"]

    writes, calls = count_calls(ctx, lambda: reconcile_once(EcsService(), [moved], ctx))

    assert (writes, calls[UPDATE]) == (1, 1)
    assert newer.startswith("arn:aws:ecs:") and newer.endswith(":2")
    assert described(moved)["taskDefinition"] == newer


def test_changed_network_and_deployment_settings_are_one_update(
    ctx: Context, created: Resource
) -> None:
    changed = resource(
        {
            **created.spec,
            "subnets": created.spec["subnets"][:1],
            "assignPublicIp": "ENABLED",
            "deploymentCircuitBreaker": {"enable": True, "rollback": False},
            "minimumHealthyPercent": 50,
            "healthCheckGracePeriodSeconds": 120,
        }
    )

    writes, calls = count_calls(ctx, lambda: reconcile_once(EcsService(), [changed], ctx))

    assert (writes, calls[UPDATE]) == (1, 1)
    svc = described(changed)
    assert svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == changed.spec["subnets"]
    assert svc["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "ENABLED"
    assert svc["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": False,
    }
    assert svc["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    assert svc["healthCheckGracePeriodSeconds"] == 120
    assert reconcile_once(EcsService(), [changed], ctx)[0] == {LOGICAL_ID: "noop"}


def test_changed_tags_are_tagged_without_an_update(ctx: Context, created: Resource) -> None:
    arn = described(created)["serviceArn"]
    ecs().tag_resource(resourceArn=arn, tags=[{"key": "CostCenter", "value": "9999"}])

    writes, calls = pass_calls(EcsService(), created, ctx)

    assert (writes, calls["ecs:TagResource"]) == (1, 1) and UPDATE not in calls
    assert {t["key"]: t["value"] for t in described(created)["tags"]} == created.ownership_tags()


def test_same_name_without_our_tags_is_not_owned_and_untouched(
    ctx: Context, spec: dict[str, Any]
) -> None:
    ecs().create_service(
        cluster=spec["cluster"],
        serviceName=NAME,
        taskDefinition=spec["taskDefinition"],
        desiredCount=1,
        tags=[{"key": "team", "value": "x"}],
    )
    res = resource(spec)

    writes, _ = count_calls(ctx, lambda: observe(ctx, res))
    found = observe(ctx, res)[LOGICAL_ID]

    assert writes == 0 and found.owned is False
    assert EcsService().warnings(res, found) == []
    assert described(res)["desiredCount"] == 1


def test_an_orphan_in_an_owned_cluster_is_observed(ctx: Context, spec: dict[str, Any]) -> None:
    owned = ecs().create_cluster(
        clusterName="acme-prod",
        tags=[{"key": "plumb:stack", "value": "acme-prod"}, {"key": "plumb:id", "value": "c"}],
    )["cluster"]["clusterArn"]
    res = resource({**spec, "cluster": owned})
    EcsService().create(res, ctx)

    found = observe(ctx)  # nothing desired: the service left the spec

    assert list(found) == [LOGICAL_ID] and found[LOGICAL_ID].attrs["clusterArn"] == owned


def test_a_deleted_service_is_absent_and_can_be_created_again(
    ctx: Context, created: Resource
) -> None:
    found = observe(ctx, created)[LOGICAL_ID]
    EcsService().delete(found, ctx)

    assert described(created)["status"] == "INACTIVE"  # moto still lists it
    assert observe(ctx, created) == {}
    assert reconcile_once(EcsService(), [created], ctx)[0] == {LOGICAL_ID: "create"}
    assert described(created)["status"] == "ACTIVE"


def test_a_create_with_other_inputs_adopts_our_service(ctx: Context, created: Resource) -> None:
    more = resource({**created.spec, "desiredCount": 3})

    adopted = EcsService().create(more, ctx)  # another token: "not idempotent", then adopted

    assert adopted.owned and adopted.spec["desiredCount"] == 3
    assert described(more)["desiredCount"] == 3
    assert {t["key"]: t["value"] for t in described(more)["tags"]} == more.ownership_tags()


def test_a_rollout_in_progress_is_not_ready(ctx: Context, spec: dict[str, Any]) -> None:
    res = resource({**spec, "desiredCount": 3})  # moto runs MOTO_ECS_SERVICE_RUNNING=2 tasks
    EcsService().create(res, ctx)

    found = observe(ctx, res)[LOGICAL_ID]

    assert found.ready is False
    [warning] = EcsService().warnings(res, found)
    assert warning.startswith("rollout IN_PROGRESS: 2 of 3 tasks running")
