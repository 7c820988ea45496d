"""The TaskDefinition reconciler against moto: a revision is registered only when the spec
asks for something the latest one does not hold, never because ECS filled fields in."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from controller.aws.context import Context
from controller.errors import TerminalError
from controller.kinds.diff import diff
from controller.kinds.tags import to_list
from controller.model import Observed, Resource
from reconcilers.task_definition import TaskDefinition
from tests.conformance.task_definition import register_by_hand, sample_spec
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.kind_passes import HAND_TAGS, assert_tags_repaired, create_one, noop_calls

FAMILY = "acme-prod-app"
LOGICAL_ID = "acme-prod/app/task-definition"
REGISTER = "ecs:RegisterTaskDefinition"
DEREGISTER = "ecs:DeregisterTaskDefinition"


def desired(
    ctx: Context, family: str = FAMILY, logical_id: str = LOGICAL_ID, **container: Any
) -> Resource:
    spec = sample_spec(ctx, family)
    spec["container"] = {**spec["container"], **container}
    return Resource("TaskDefinition", logical_id, spec, REGION, tags={"CostCenter": "4711"})


def ecs() -> Any:
    return boto3.client("ecs", region_name=REGION)


def active_revisions(family: str = FAMILY) -> list[int]:
    arns = ecs().list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]
    return sorted(int(arn.rsplit(":", 1)[1]) for arn in arns)


def latest(family: str = FAMILY) -> dict[str, Any]:
    out = ecs().describe_task_definition(taskDefinition=family, include=["TAGS"])
    return {**out["taskDefinition"], "tags": {t["key"]: t["value"] for t in out.get("tags", [])}}


def observe(ctx: Context, *res: Resource) -> dict[str, Observed]:
    return TaskDefinition().observe(list(res), ctx)


@pytest.fixture
def created(ctx: Context) -> Resource:
    return create_one(TaskDefinition(), desired(ctx), ctx)


def test_create_registers_a_fargate_revision_with_the_spec_and_tags(created: Resource) -> None:
    td = latest()
    [container] = td["containerDefinitions"]
    assert (td["revision"], td["cpu"], td["memory"]) == (1, "512", "1024")
    assert (td["networkMode"], td["requiresCompatibilities"]) == ("awsvpc", ["FARGATE"])
    assert td["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"}
    assert container["essential"] is True
    assert container["portMappings"] == [{"containerPort": 3000, "protocol": "tcp"}]
    assert container["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/ecs/acme-prod",
            "awslogs-region": REGION,
            "awslogs-stream-prefix": "app",
        },
    }
    assert td["tags"] == created.ownership_tags()


def test_a_noop_observe_twice_registers_nothing(ctx: Context, created: Resource) -> None:
    for _ in range(2):
        writes, reads = noop_calls(TaskDefinition(), created, ctx)
        assert writes == 0
        assert reads == {"ecs:ListTaskDefinitionFamilies": 1, "ecs:DescribeTaskDefinition": 1}
    assert active_revisions() == [1]


def test_fields_ecs_fills_in_and_list_order_are_not_drift(ctx: Context, created: Resource) -> None:
    [found] = observe(ctx, created).values()
    container = latest()["containerDefinitions"][0]
    # ECS's own defaults on the container, spelled out and reordered by hand.
    env = list(reversed(container["environment"]))
    register_by_hand(
        ctx, found, environment=env, cpu=0, mountPoints=[], volumesFrom=[], systemControls=[]
    )
    assert latest()["revision"] == 2
    [again] = observe(ctx, created).values()
    assert not diff(created, again)
    assert reconcile_once(TaskDefinition(), [created], ctx)[0] == {LOGICAL_ID: "noop"}


def test_a_changed_image_gives_exactly_one_new_revision(ctx: Context, created: Resource) -> None:
    newer = desired(ctx, image="123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-app:1.5.0")

    writes, calls = count_calls(ctx, lambda: reconcile_once(TaskDefinition(), [newer], ctx))

    assert (writes, calls[REGISTER], calls[DEREGISTER]) == (2, 1, 1)
    assert active_revisions() == [2]  # the replaced revision is deregistered
    assert latest()["containerDefinitions"][0]["image"].endswith("acme-app:1.5.0")
    assert latest()["tags"] == newer.ownership_tags()
    [found] = observe(ctx, newer).values()
    assert found.attrs["revision"] == 2 and found.attrs["id"].endswith(f"{FAMILY}:2")
    assert reconcile_once(TaskDefinition(), [newer], ctx)[0] == {LOGICAL_ID: "noop"}


def test_a_tags_only_drift_registers_nothing(ctx: Context, created: Resource) -> None:
    arn = latest()["taskDefinitionArn"]
    ecs().tag_resource(resourceArn=arn, tags=to_list(HAND_TAGS, "key", "value"))

    calls = assert_tags_repaired(TaskDefinition(), created, ctx, "ecs")

    assert REGISTER not in calls and DEREGISTER not in calls
    assert active_revisions() == [1]
    assert latest()["tags"] == created.ownership_tags()


def test_a_variable_added_by_hand_is_drift_and_removed(ctx: Context, created: Resource) -> None:
    [found] = observe(ctx, created).values()
    env = [*latest()["containerDefinitions"][0]["environment"], {"name": "DEBUG", "value": "1"}]
    register_by_hand(ctx, found, environment=env)

    [drifted] = observe(ctx, created).values()
    assert diff(created, drifted).paths == ["container.environment.DEBUG"]
    reconcile_once(TaskDefinition(), [created], ctx)
    names = {e["name"] for e in latest()["containerDefinitions"][0]["environment"]}
    assert names == set(created.spec["container"]["environment"])


def test_same_family_without_our_tags_is_not_owned_and_untouched(ctx: Context) -> None:
    ecs().register_task_definition(
        family=FAMILY,
        containerDefinitions=[{"name": "theirs", "image": "busybox", "memory": 128}],
        tags=[{"key": "team", "value": "x"}],
    )
    res = desired(ctx)

    writes, _ = count_calls(ctx, lambda: observe(ctx, res))
    [found] = observe(ctx, res).values()

    assert writes == 0 and found.owned is False
    assert found.physical_id == FAMILY
    assert active_revisions() == [1] and latest()["tags"] == {"team": "x"}


def test_families_of_other_stacks_are_not_read(ctx: Context) -> None:
    ecs().register_task_definition(
        family="beta-prod-app",
        containerDefinitions=[{"name": "app", "image": "busybox", "memory": 128}],
        tags=[{"key": "plumb:stack", "value": "beta-prod"}, {"key": "plumb:id", "value": "b"}],
    )
    _, reads = count_calls(ctx, lambda: observe(ctx))
    assert reads == {"ecs:ListTaskDefinitionFamilies": 1}


def test_delete_deregisters_every_active_revision(ctx: Context, created: Resource) -> None:
    [found] = observe(ctx, created).values()
    register_by_hand(ctx, found, image="busybox:by-hand")
    assert active_revisions() == [1, 2]

    TaskDefinition().delete(found, ctx)

    assert active_revisions() == []
    assert observe(ctx, created) == {}
    # Registering the family again is a plain create, revision 3.
    assert reconcile_once(TaskDefinition(), [created], ctx)[0] == {LOGICAL_ID: "create"}
    assert active_revisions() == [3]


def register_theirs(family: str = FAMILY) -> None:
    """A revision registered by hand, without plumb's tags."""
    ecs().register_task_definition(
        family=family,
        containerDefinitions=[{"name": "theirs", "image": "busybox", "memory": 128}],
        tags=[{"key": "team", "value": "x"}],
    )


def test_delete_leaves_revisions_without_our_tags(ctx: Context) -> None:
    """A family an older plumb registered into over someone's revision: delete takes back
    only its own."""
    register_theirs()
    res = desired(ctx)
    TaskDefinition()._register(res, ctx)
    [found] = observe(ctx, res).values()
    assert found.owned and active_revisions() == [1, 2]

    writes, calls = count_calls(ctx, lambda: TaskDefinition().delete(found, ctx))

    assert (writes, calls[DEREGISTER]) == (1, 1)
    assert active_revisions() == [1] and latest()["tags"] == {"team": "x"}


def test_a_create_into_their_family_refuses_naming_it_and_registers_nothing(
    ctx: Context,
) -> None:
    register_theirs()
    register_theirs()
    res = desired(ctx)

    raised: list[BaseException] = []

    def create() -> None:
        try:
            TaskDefinition().create(res, ctx)
        except TerminalError as err:
            raised.append(err)

    writes, calls = count_calls(ctx, create)

    [err] = raised
    assert writes == 0 and REGISTER not in calls
    assert FAMILY in str(err) and "not this resource's" in str(err) and "\n" not in str(err)
    # Every revision is read: any one of them carrying our tags would make the family ours.
    assert calls == {"ecs:ListTaskDefinitions": 1, "ecs:DescribeTaskDefinition": 2}
    assert active_revisions() == [1, 2] and latest()["tags"] == {"team": "x"}


def test_a_create_reads_one_list_before_registering(ctx: Context) -> None:
    res = desired(ctx)
    writes, calls = count_calls(ctx, lambda: TaskDefinition().create(res, ctx))
    assert (writes, calls) == (1, {"ecs:ListTaskDefinitions": 1, REGISTER: 1})


def test_a_create_repeated_over_its_own_revision_registers_one_more(
    ctx: Context, created: Resource
) -> None:
    """A create repeated after its answer was lost: its own revision, the newest, is the
    only one read, and the family stays its own."""
    TaskDefinition()._register(created, ctx)
    writes, calls = count_calls(ctx, lambda: TaskDefinition().create(created, ctx))
    assert writes == 1 and calls["ecs:DescribeTaskDefinition"] == 1
    assert active_revisions() == [1, 2, 3]
    assert [r.owned for r in observe(ctx, created).values()] == [True]
