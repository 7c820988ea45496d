"""The LogGroup reconciler against moto: name, retention and tags."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from controller.aws.context import Context
from controller.kinds.diff import diff
from controller.model import Resource
from reconcilers.log_group import LogGroup
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.kind_passes import (
    HAND_TAGS,
    assert_tags_repaired,
    create_one,
    noop_calls,
    pass_calls,
)

NAME = "/ecs/acme-prod"
LOGICAL_ID = "acme-prod/app/logs"
ARN = f"arn:aws:logs:{REGION}:123456789012:log-group:{NAME}"


def desired(name: str = NAME, logical_id: str = LOGICAL_ID, **spec: Any) -> Resource:
    full = {"logGroupName": name, "retentionInDays": 30, **spec}
    return Resource("LogGroup", logical_id, full, REGION, tags={"CostCenter": "4711"})


def logs() -> Any:
    return boto3.client("logs", region_name=REGION)


def group(name: str = NAME) -> dict[str, Any]:
    [found] = [g for g in logs().describe_log_groups()["logGroups"] if g["logGroupName"] == name]
    return dict(found)


def tags_of(arn: str = ARN) -> dict[str, str]:
    return dict(logs().list_tags_for_resource(resourceArn=arn)["tags"])


@pytest.fixture
def created(ctx: Context) -> Resource:
    return create_one(LogGroup(), desired(), ctx)


def test_create_sets_retention_and_tags_and_arn_has_no_wildcard(
    ctx: Context, created: Resource
) -> None:
    assert group()["retentionInDays"] == 30
    assert tags_of() == created.ownership_tags()
    observed = LogGroup().observe([created], ctx)[LOGICAL_ID]
    assert observed.attrs == {"id": NAME, "name": NAME, "arn": ARN}


def test_create_answer_matches_what_is_observed(ctx: Context) -> None:
    res = desired()
    made = LogGroup().create(res, ctx)
    seen = LogGroup().observe([res], ctx)[LOGICAL_ID]
    assert (made.spec, made.attrs, made.tags) == (seen.spec, seen.attrs, seen.tags)


def test_second_run_is_noop_with_two_reads(ctx: Context, created: Resource) -> None:
    writes, reads = noop_calls(LogGroup(), created, ctx)
    assert (writes, reads) == (0, {"logs:DescribeLogGroups": 1, "logs:ListTagsForResource": 1})


def test_a_retention_changed_by_hand_is_repaired(ctx: Context, created: Resource) -> None:
    logs().put_retention_policy(logGroupName=NAME, retentionInDays=7)
    writes, calls = pass_calls(LogGroup(), created, ctx)
    assert writes == 1 and calls["logs:PutRetentionPolicy"] == 1
    assert group()["retentionInDays"] == 30


def test_retention_left_out_of_the_spec_is_not_managed(ctx: Context) -> None:
    res = desired(retentionInDays=90)
    reconcile_once(LogGroup(), [res], ctx)
    unmanaged = res.with_spec({"logGroupName": NAME})
    assert reconcile_once(LogGroup(), [unmanaged], ctx)[0] == {LOGICAL_ID: "noop"}
    assert group()["retentionInDays"] == 90


def test_changed_tags_are_repaired(ctx: Context, created: Resource) -> None:
    logs().tag_resource(resourceArn=ARN, tags=HAND_TAGS)

    assert_tags_repaired(LogGroup(), created, ctx, "logs")
    assert tags_of() == created.ownership_tags()


def test_a_create_repeated_after_a_lost_answer_adopts_and_completes_it(ctx: Context) -> None:
    # The first attempt made the tagged group but never put its retention.
    logs().create_log_group(logGroupName=NAME, tags=desired().ownership_tags())
    res = desired()

    observed = LogGroup().create(res, ctx)

    assert observed.owned and not diff(res, observed)
    assert group()["retentionInDays"] == 30
    assert len(logs().describe_log_groups()["logGroups"]) == 1


def test_an_orphan_is_observed_and_unrelated_groups_are_not_read(
    ctx: Context, created: Resource
) -> None:
    logs().create_log_group(logGroupName="/aws/lambda/someone-else")
    logs().create_log_group(
        logGroupName="/ecs/acme-staging",
        tags={"plumb:stack": "acme-staging", "plumb:id": "acme-staging/app/logs"},
    )

    found: dict[str, Any] = {}
    _, reads = count_calls(ctx, lambda: found.update(LogGroup().observe([created], ctx)))

    assert set(found) == {LOGICAL_ID, "acme-staging/app/logs"}
    assert found["acme-staging/app/logs"].owned
    assert reads == {"logs:DescribeLogGroups": 1, "logs:ListTagsForResource": 2}
