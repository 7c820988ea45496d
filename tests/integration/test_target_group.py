"""The TargetGroup reconciler against moto: health check, deregistration delay, ownership."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from controller.aws.context import Context
from controller.errors import TerminalError, TransientError
from controller.kinds.diff import diff
from controller.kinds.schemas import spec_with_defaults
from controller.model import TAG_ID, TAG_STACK, Resource
from reconcilers.target_group import TargetGroup
from tests.conformance import fixtures
from tests.conformance.target_group import HEALTH_CHECK
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.elb_calls import elb, params_of, tags_of
from tests.integration.kind_passes import create_one, noop_calls, once_each

NAME = "acme-prod-app"
LOGICAL_ID = "acme-prod/edge/tg-app"


@pytest.fixture
def vpc(ctx: Context) -> str:
    return fixtures.vpc(ctx)


def desired(vpc: str, **spec: Any) -> Resource:
    body = {
        "name": NAME,
        "protocol": "HTTP",
        "port": 3000,
        "vpcId": vpc,
        "targetType": "ip",
        "healthCheck": dict(HEALTH_CHECK),
        "deregistrationDelaySeconds": 30,
        **spec,
    }
    return Resource("TargetGroup", LOGICAL_ID, body, REGION, tags=dict(fixtures.USER_TAGS))


def described(name: str = NAME) -> dict[str, Any]:
    return dict(elb().describe_target_groups(Names=[name])["TargetGroups"][0])


def delay_of(arn: str) -> str:
    out = elb().describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    return next(a["Value"] for a in out if a["Key"] == "deregistration_delay.timeout_seconds")


def hand_made(vpc: str, name: str, tags: dict[str, str]) -> str:
    out = elb().create_target_group(
        Name=name,
        Protocol="HTTP",
        Port=8080,
        VpcId=vpc,
        TargetType="ip",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    return str(out["TargetGroups"][0]["TargetGroupArn"])


@pytest.fixture
def created(ctx: Context, vpc: str) -> Resource:
    return create_one(TargetGroup(), desired(vpc), ctx)


def test_create_sets_the_health_check_the_delay_and_the_tags(created: Resource, vpc: str) -> None:
    tg = described()
    assert (tg["Protocol"], tg["Port"], tg["VpcId"], tg["TargetType"]) == ("HTTP", 3000, vpc, "ip")
    assert tg["HealthCheckEnabled"] is True
    assert (tg["HealthCheckPath"], tg["HealthCheckProtocol"], tg["HealthCheckPort"]) == (
        "/health",
        "HTTP",
        "traffic-port",
    )
    assert tg["Matcher"] == {"HttpCode": "200-399"}
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (15, 5)
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (2, 3)
    assert delay_of(tg["TargetGroupArn"]) == "30"
    assert tags_of(tg["TargetGroupArn"]) == created.ownership_tags()


def test_attrs_carry_the_arn_and_the_metrics_dimension(ctx: Context, created: Resource) -> None:
    found = TargetGroup().observe([created], ctx)[LOGICAL_ID]
    arn = described()["TargetGroupArn"]
    assert found.attrs["id"] == found.attrs["arn"] == found.physical_id == arn
    assert found.attrs["name"] == NAME
    assert found.attrs["arnSuffix"] == f"targetgroup/{NAME}/{arn.rsplit('/', 1)[1]}"


def test_second_run_is_noop_with_three_reads(ctx: Context, created: Resource) -> None:
    # AWS's own fields (ProtocolVersion, IpAddressType, other attributes) are not drift.
    reads = once_each(
        "elbv2", "DescribeTargetGroups", "DescribeTags", "DescribeTargetGroupAttributes"
    )
    assert noop_calls(TargetGroup(), created, ctx) == (0, reads)


def test_a_minimal_spec_is_created_with_the_schema_defaults(ctx: Context, vpc: str) -> None:
    # The engine hands a kind its resources with the schema's defaults filled in.
    spec = spec_with_defaults("TargetGroup", {"name": NAME, "port": 3000, "vpcId": vpc})
    res = Resource("TargetGroup", LOGICAL_ID, spec, REGION)
    TargetGroup().create(res, ctx)
    tg = described()
    assert (tg["Protocol"], tg["TargetType"], tg["Matcher"]) == (
        "HTTP",
        "ip",
        {"HttpCode": "200-399"},
    )
    assert (tg["HealthCheckIntervalSeconds"], tg["UnhealthyThresholdCount"]) == (15, 3)
    assert delay_of(tg["TargetGroupArn"]) == "30"
    assert reconcile_once(TargetGroup(), [res], ctx)[0] == {LOGICAL_ID: "noop"}


def test_health_check_drift_is_repaired_in_one_call_with_only_the_drifted_fields(
    ctx: Context, created: Resource
) -> None:
    arn = described()["TargetGroupArn"]
    elb().modify_target_group(
        TargetGroupArn=arn, HealthCheckIntervalSeconds=60, Matcher={"HttpCode": "200"}
    )
    elb().modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "300"}],
    )
    found = TargetGroup().observe([created], ctx)[LOGICAL_ID]
    delta = diff(created, found)
    assert sorted(delta.paths) == [
        "deregistrationDelaySeconds",
        "healthCheck.intervalSeconds",
        "healthCheck.matcher",
    ]

    sent = params_of(ctx, "ModifyTargetGroup")
    writes, calls = count_calls(ctx, lambda: TargetGroup().update(created, found, delta, ctx))

    assert writes == 2
    assert calls["elbv2:ModifyTargetGroup"] == calls["elbv2:ModifyTargetGroupAttributes"] == 1
    assert sent == [
        {
            "TargetGroupArn": arn,
            "HealthCheckIntervalSeconds": 15,
            "Matcher": {"HttpCode": "200-399"},
        }
    ]
    assert (described()["HealthCheckIntervalSeconds"], delay_of(arn)) == (15, "30")
    assert reconcile_once(TargetGroup(), [created], ctx)[0] == {LOGICAL_ID: "noop"}


def test_same_name_without_our_tags_is_not_owned_and_untouched(ctx: Context, vpc: str) -> None:
    arn = hand_made(vpc, NAME, {"team": "web"})
    res = desired(vpc)

    _, calls = count_calls(ctx, lambda: TargetGroup().observe([res], ctx))
    found = TargetGroup().observe([res], ctx)[LOGICAL_ID]

    assert found.owned is False and found.physical_id == arn
    assert "elbv2:DescribeTargetGroupAttributes" not in calls
    with pytest.raises(TerminalError, match="not this resource's"):
        TargetGroup().create(res, ctx)
    assert tags_of(arn) == {"team": "web"} and delay_of(arn) == "300"


def test_tags_are_read_in_batches_of_twenty(ctx: Context, vpc: str) -> None:
    for i in range(25):
        hand_made(vpc, f"old-{i}", {TAG_STACK: "acme-prod", TAG_ID: f"acme-prod/old/tg-{i}"})

    _, calls = count_calls(ctx, lambda: TargetGroup().observe([], ctx))
    found = TargetGroup().observe([], ctx)

    assert calls == {"elbv2:DescribeTargetGroups": 1, "elbv2:DescribeTags": 2}
    assert len(found) == 25  # orphans, observed so they can be pruned


def test_delete_waits_for_the_listener_that_forwards_to_it(
    ctx: Context, created: Resource, vpc: str
) -> None:
    arn = described()["TargetGroupArn"]
    balancer = elb().create_load_balancer(
        Name="alb",
        Subnets=fixtures.subnets(ctx, vpc, count=2),
        SecurityGroups=[fixtures.security_group(ctx, vpc, "alb")],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elb().create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}],
    )["Listeners"][0]["ListenerArn"]
    rec = TargetGroup()
    found = rec.observe([created], ctx)[LOGICAL_ID]

    with pytest.raises(TransientError):
        rec.delete(found, ctx)
    elb().delete_listener(ListenerArn=listener)
    rec.delete(found, ctx)
    rec.delete(found, ctx)  # already gone: not an error
    assert rec.observe([created], ctx) == {}


def test_each_foreign_group_is_observed_under_the_resource_of_its_name(
    ctx: Context, vpc: str
) -> None:
    # Two desired groups whose names strangers hold: each is blocked on its own stranger,
    # not on whichever group the listing happened to end with.
    first = hand_made(vpc, NAME, {"team": "other"})
    second = hand_made(vpc, "acme-prod-api", {"team": "other"})
    other = dataclasses.replace(
        desired(vpc, name="acme-prod-api"), logical_id="acme-prod/edge/tg-api"
    )
    found = TargetGroup().observe([desired(vpc), other], ctx)
    assert (found[LOGICAL_ID].owned, found[LOGICAL_ID].physical_id) == (False, first)
    assert (found[other.logical_id].owned, found[other.logical_id].physical_id) == (False, second)
