"""The LoadBalancer reconciler against moto: an ALB found by its tags, read in batches."""

from __future__ import annotations

from typing import Any

import pytest
from moto.elbv2.models import elbv2_backends

from controller.aws.context import Context
from controller.errors import TerminalError
from controller.kinds.diff import diff
from controller.kinds.schemas import spec_with_defaults
from controller.model import TAG_ID, TAG_STACK, Resource
from reconcilers.load_balancer import LoadBalancer
from tests.conformance import fixtures
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.elb_calls import elb, params_of, tags_of
from tests.integration.kind_passes import noop_calls, once_each, pass_calls

NAME = "acme-prod-alb"
LOGICAL_ID = "acme-prod/edge/alb"
ACCOUNT = "123456789012"


@pytest.fixture
def network(ctx: Context) -> dict[str, Any]:
    vpc = fixtures.vpc(ctx)
    return {
        "vpc": vpc,
        "subnets": fixtures.subnets(ctx, vpc, count=2),
        "sg": fixtures.security_group(ctx, vpc, "alb"),
        "other_sg": fixtures.security_group(ctx, vpc, "other"),
    }


def desired(network: dict[str, Any], **spec: Any) -> Resource:
    body = {
        "name": NAME,
        "scheme": "internet-facing",
        "subnets": list(reversed(network["subnets"])),  # order is not drift
        "securityGroups": [network["sg"]],
        "attributes": {
            "idleTimeoutSeconds": 90,
            "dropInvalidHeaderFields": True,
            "deletionProtection": False,
        },
        **spec,
    }
    return Resource("LoadBalancer", LOGICAL_ID, body, REGION, tags=dict(fixtures.USER_TAGS))


def described(name: str = NAME) -> dict[str, Any]:
    return dict(elb().describe_load_balancers(Names=[name])["LoadBalancers"][0])


def attributes_of(arn: str) -> dict[str, str]:
    out = elb().describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    return {a["Key"]: a["Value"] for a in out}


def hand_made(network: dict[str, Any], name: str, tags: dict[str, str]) -> str:
    out = elb().create_load_balancer(
        Name=name,
        Subnets=network["subnets"],
        SecurityGroups=[network["other_sg"]],
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    return str(out["LoadBalancers"][0]["LoadBalancerArn"])


@pytest.fixture
def created(ctx: Context, network: dict[str, Any]) -> Resource:
    res = desired(network)
    actions, observed = reconcile_once(LoadBalancer(), [res], ctx)
    assert actions == {LOGICAL_ID: "create"}
    assert observed[LOGICAL_ID].ready is False  # provisioning until AWS says active
    return res


def test_create_makes_a_tagged_alb_with_every_attribute(
    created: Resource, network: dict[str, Any]
) -> None:
    lb = described()
    assert (lb["Type"], lb["Scheme"], lb["IpAddressType"]) == (
        "application",
        "internet-facing",
        "ipv4",
    )
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == sorted(network["subnets"])
    assert lb["SecurityGroups"] == [network["sg"]]
    assert tags_of(lb["LoadBalancerArn"]) == created.ownership_tags()
    attributes = attributes_of(lb["LoadBalancerArn"])
    assert attributes["idle_timeout.timeout_seconds"] == "90"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "false"


def test_attrs_carry_what_dns_and_metrics_refer_to(ctx: Context, created: Resource) -> None:
    found = LoadBalancer().observe([created], ctx)[LOGICAL_ID]
    lb = described()
    arn = lb["LoadBalancerArn"]
    assert found.ready is True
    assert found.attrs["id"] == found.attrs["arn"] == found.physical_id == arn
    assert found.attrs["name"] == NAME
    assert found.attrs["dnsName"] == lb["DNSName"]
    assert found.attrs["canonicalHostedZoneId"] == lb["CanonicalHostedZoneId"]
    assert found.attrs["arnSuffix"] == f"app/{NAME}/{arn.rsplit('/', 1)[1]}"


def test_second_run_is_noop_with_three_reads(ctx: Context, created: Resource) -> None:
    reads = once_each(
        "elbv2", "DescribeLoadBalancers", "DescribeTags", "DescribeLoadBalancerAttributes"
    )
    assert noop_calls(LoadBalancer(), created, ctx) == (0, reads)


def test_attributes_the_spec_leaves_out_get_the_schema_defaults(
    ctx: Context, network: dict[str, Any]
) -> None:
    # The engine hands a kind its resources with the schema's defaults filled in.
    res = desired(network)
    left_out = {k: v for k, v in res.spec.items() if k not in ("attributes", "scheme")}
    res = res.with_spec(spec_with_defaults("LoadBalancer", left_out))
    LoadBalancer().create(res, ctx)
    lb = described()
    assert lb["Scheme"] == "internet-facing"
    attributes = attributes_of(lb["LoadBalancerArn"])
    assert attributes["idle_timeout.timeout_seconds"] == "60"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    writes, _ = count_calls(ctx, lambda: reconcile_once(LoadBalancer(), [res], ctx))
    assert writes == 0


def test_update_writes_only_what_drifted(
    ctx: Context, created: Resource, network: dict[str, Any]
) -> None:
    arn = described()["LoadBalancerArn"]
    elb().set_security_groups(LoadBalancerArn=arn, SecurityGroups=[network["other_sg"]])
    elb().modify_load_balancer_attributes(
        LoadBalancerArn=arn,
        Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}],
    )
    found = LoadBalancer().observe([created], ctx)[LOGICAL_ID]
    delta = diff(created, found)
    assert sorted(delta.paths) == ["attributes.deletionProtection", "securityGroups"]

    sent = params_of(ctx, "ModifyLoadBalancerAttributes")
    writes, calls = count_calls(ctx, lambda: LoadBalancer().update(created, found, delta, ctx))

    assert writes == 2
    assert calls["elbv2:SetSecurityGroups"] == calls["elbv2:ModifyLoadBalancerAttributes"] == 1
    assert sent[0]["Attributes"] == [{"Key": "deletion_protection.enabled", "Value": "false"}]
    assert described()["SecurityGroups"] == [network["sg"]]
    assert reconcile_once(LoadBalancer(), [created], ctx)[0] == {LOGICAL_ID: "noop"}


def test_tags_changed_by_hand_are_repaired(ctx: Context, created: Resource) -> None:
    arn = described()["LoadBalancerArn"]
    elb().add_tags(
        ResourceArns=[arn], Tags=[fixtures.OTHER_COST_CENTER, {"Key": "x", "Value": "y"}]
    )
    writes, calls = pass_calls(LoadBalancer(), created, ctx)
    assert writes == 2 and calls["elbv2:AddTags"] == calls["elbv2:RemoveTags"] == 1
    assert tags_of(arn) == created.ownership_tags()


def test_same_name_without_our_tags_is_not_owned_and_untouched(
    ctx: Context, network: dict[str, Any]
) -> None:
    arn = hand_made(network, NAME, {"team": "web"})
    res = desired(network)

    writes, calls = count_calls(ctx, lambda: LoadBalancer().observe([res], ctx))
    found = LoadBalancer().observe([res], ctx)[LOGICAL_ID]

    assert writes == 0 and "elbv2:DescribeLoadBalancerAttributes" not in calls
    assert found.owned is False and found.physical_id == arn
    with pytest.raises(TerminalError, match="not this resource's"):
        LoadBalancer().create(res, ctx)
    assert tags_of(arn) == {"team": "web"}
    assert attributes_of(arn)["idle_timeout.timeout_seconds"] == "60"


def test_a_foreign_twin_answered_by_an_idempotent_create_is_not_taken_over(
    ctx: Context, network: dict[str, Any]
) -> None:
    # AWS answers a create with the same settings with the existing load balancer.
    res = desired(network, securityGroups=[network["other_sg"]])
    arn = hand_made(network, NAME, {"team": "web"})
    with pytest.raises(TerminalError, match="not this resource's"):
        LoadBalancer().create(res, ctx)
    assert tags_of(arn) == {"team": "web"}
    assert attributes_of(arn)["idle_timeout.timeout_seconds"] == "60"


def test_a_create_repeated_after_a_lost_answer_adopts_the_first(
    ctx: Context, created: Resource, network: dict[str, Any]
) -> None:
    arn = described()["LoadBalancerArn"]
    assert LoadBalancer().create(created, ctx).physical_id == arn  # same settings
    changed = desired(network, securityGroups=[network["other_sg"]])
    adopted = LoadBalancer().create(changed, ctx)  # DuplicateLoadBalancerName
    assert adopted.owned and adopted.physical_id == arn
    assert diff(changed, adopted).paths == ["securityGroups"]
    assert len(elb().describe_load_balancers()["LoadBalancers"]) == 1


def test_orphans_are_observed_and_other_stacks_ignored(
    ctx: Context, network: dict[str, Any]
) -> None:
    orphan = hand_made(network, "old-alb", {TAG_STACK: "acme-prod", TAG_ID: "acme-prod/edge/old"})
    hand_made(network, "their-alb", {TAG_STACK: "other-prod", TAG_ID: "other-prod/edge/alb"})

    _, calls = count_calls(ctx, lambda: LoadBalancer().observe([], ctx))
    found = LoadBalancer().observe([], ctx)

    assert (
        list(found) == ["acme-prod/edge/old"] and found["acme-prod/edge/old"].physical_id == orphan
    )
    assert "elbv2:DescribeLoadBalancerAttributes" not in calls  # orphans need no details


def test_a_failed_load_balancer_is_not_ready_and_warns(ctx: Context, created: Resource) -> None:
    arn = described()["LoadBalancerArn"]
    elbv2_backends[ACCOUNT][REGION].load_balancers[arn].state = "failed"
    found = LoadBalancer().observe([created], ctx)[LOGICAL_ID]
    assert found.ready is False
    assert found.warnings == (f"load balancer {NAME} is failed: no reason given",)
