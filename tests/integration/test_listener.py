"""The Listener reconciler against moto: found through its load balancer, action compared
as a whole in the spec's shape."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from controller.aws.context import Context
from controller.kinds.diff import diff
from controller.model import TAG_ID, TAG_STACK, Resource
from reconcilers.listener import Listener
from tests.conformance import fixtures
from tests.conformance.listener import SAMPLE_POLICY, sample_balancer
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.elb_calls import elb, params_of, tags_of

HTTPS_ID = "acme-prod/edge/listener-https"
HTTP_ID = "acme-prod/edge/listener-http"
REDIRECT = {"type": "redirect", "protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}


@pytest.fixture
def edge(ctx: Context) -> dict[str, str]:
    balancer, group = sample_balancer(ctx)
    certificate = boto3.client("acm", region_name=REGION).request_certificate(
        DomainName="app.acme.example", ValidationMethod="DNS"
    )["CertificateArn"]
    return {"lb": balancer, "tg": group, "cert": certificate}


def https(edge: dict[str, str], **spec: Any) -> Resource:
    body = {
        "loadBalancerArn": edge["lb"],
        "port": 443,
        "protocol": "HTTPS",
        "certificateArn": edge["cert"],
        "sslPolicy": SAMPLE_POLICY,
        "defaultAction": {"type": "forward", "targetGroupArn": edge["tg"]},
        **spec,
    }
    return Resource("Listener", HTTPS_ID, body, REGION, tags=dict(fixtures.USER_TAGS))


def http(edge: dict[str, str], **spec: Any) -> Resource:
    body = {
        "loadBalancerArn": edge["lb"],
        "port": 80,
        "protocol": "HTTP",
        "defaultAction": dict(REDIRECT),
        **spec,
    }
    return Resource("Listener", HTTP_ID, body, REGION, tags=dict(fixtures.USER_TAGS))


def listener_on(edge: dict[str, str], port: int) -> dict[str, Any]:
    listeners = elb().describe_listeners(LoadBalancerArn=edge["lb"])["Listeners"]
    return dict(next(item for item in listeners if item["Port"] == port))


def own_balancer(edge: dict[str, str]) -> None:
    """Tag the load balancer as the stack's, as plumb would have created it."""
    tags = [
        {"Key": TAG_STACK, "Value": "acme-prod"},
        {"Key": TAG_ID, "Value": "acme-prod/edge/alb"},
    ]
    elb().add_tags(ResourceArns=[edge["lb"]], Tags=tags)


@pytest.fixture
def both(ctx: Context, edge: dict[str, str]) -> list[Resource]:
    wanted = [https(edge), http(edge)]
    actions, _ = reconcile_once(Listener(), wanted, ctx)
    assert actions == {HTTPS_ID: "create", HTTP_ID: "create"}
    return wanted


def test_https_listener_forwards_with_its_certificate_and_policy(
    both: list[Resource], edge: dict[str, str]
) -> None:
    listener = listener_on(edge, 443)
    assert listener["Protocol"] == "HTTPS"
    assert listener["Certificates"] == [{"CertificateArn": edge["cert"]}]
    assert listener["SslPolicy"] == SAMPLE_POLICY
    assert listener["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": edge["tg"]}]
    assert tags_of(listener["ListenerArn"]) == both[0].ownership_tags()


def test_http_redirect_listener_reads_back_with_no_drift(
    ctx: Context, both: list[Resource], edge: dict[str, str]
) -> None:
    listener = listener_on(edge, 80)
    assert listener["Protocol"] == "HTTP"
    assert "Certificates" not in listener
    [action] = listener["DefaultActions"]
    assert action["RedirectConfig"] == {
        "Protocol": "HTTPS",
        "Port": "443",
        "StatusCode": "HTTP_301",
    }
    found = Listener().observe(both, ctx)[HTTP_ID]
    assert found.spec["defaultAction"] == REDIRECT
    assert found.attrs == {"id": listener["ListenerArn"], "arn": listener["ListenerArn"]}
    assert not diff(both[1], found)


def test_second_run_reads_through_the_load_balancer_and_writes_nothing(
    ctx: Context, both: list[Resource]
) -> None:
    writes, calls = count_calls(ctx, lambda: reconcile_once(Listener(), both, ctx))
    assert writes == 0
    assert calls == {
        "elbv2:DescribeLoadBalancers": 1,
        "elbv2:DescribeTags": 2,  # the load balancers', then the listeners'
        "elbv2:DescribeListeners": 1,
    }


def test_how_aws_spells_actions_is_not_drift(
    ctx: Context, both: list[Resource], edge: dict[str, str]
) -> None:
    # AWS reports a forward as a ForwardConfig too, and fills in the redirect's defaults.
    forward = {
        "Type": "forward",
        "TargetGroupArn": edge["tg"],
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": edge["tg"], "Weight": 1}],
            "TargetGroupStickinessConfig": {"Enabled": False},
        },
    }
    redirect = {
        "Type": "redirect",
        "Order": 1,
        "RedirectConfig": {
            "Protocol": "HTTPS",
            "Port": "443",
            "Host": "#{host}",
            "Path": "/#{path}",
            "Query": "#{query}",
            "StatusCode": "HTTP_301",
        },
    }
    elb().modify_listener(
        ListenerArn=listener_on(edge, 443)["ListenerArn"], DefaultActions=[forward]
    )
    elb().modify_listener(
        ListenerArn=listener_on(edge, 80)["ListenerArn"], DefaultActions=[redirect]
    )
    assert reconcile_once(Listener(), both, ctx)[0] == {HTTPS_ID: "noop", HTTP_ID: "noop"}


def test_a_redirect_to_another_host_is_drift_repaired_by_one_modify(
    ctx: Context, both: list[Resource], edge: dict[str, str]
) -> None:
    arn = listener_on(edge, 80)["ListenerArn"]
    config = {"Protocol": "HTTPS", "Port": "443", "Host": "evil.example", "StatusCode": "HTTP_302"}
    elb().modify_listener(
        ListenerArn=arn, DefaultActions=[{"Type": "redirect", "RedirectConfig": config}]
    )
    found = Listener().observe(both, ctx)[HTTP_ID]
    delta = diff(both[1], found)
    assert sorted(delta.paths) == ["defaultAction.host", "defaultAction.statusCode"]

    sent = params_of(ctx, "ModifyListener")
    writes, _ = count_calls(ctx, lambda: Listener().update(both[1], found, delta, ctx))

    assert writes == 1
    assert sent == [
        {
            "ListenerArn": arn,
            "DefaultActions": [
                {
                    "Type": "redirect",
                    "RedirectConfig": {
                        "Protocol": "HTTPS",
                        "Port": "443",
                        "StatusCode": "HTTP_301",
                    },
                }
            ],
        }
    ]
    assert listener_on(edge, 80)["DefaultActions"][0]["RedirectConfig"]["StatusCode"] == "HTTP_301"


def test_turning_http_into_https_sends_protocol_certificate_and_policy_at_once(
    ctx: Context, edge: dict[str, str]
) -> None:
    plain = http(edge, port=8443, defaultAction={"type": "forward", "targetGroupArn": edge["tg"]})
    Listener().create(plain, ctx)
    # The same listener (same logical id), now asked for as HTTPS.
    secure = Resource("Listener", HTTP_ID, https(edge, port=8443).spec, REGION, tags=plain.tags)
    found = Listener().observe([secure], ctx)[HTTP_ID]
    delta = diff(secure, found)
    assert sorted(delta.paths) == ["certificateArn", "protocol", "sslPolicy"]

    sent = params_of(ctx, "ModifyListener")
    Listener().update(secure, found, delta, ctx)

    assert sent == [
        {
            "ListenerArn": found.physical_id,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": edge["cert"]}],
            "SslPolicy": SAMPLE_POLICY,
        }
    ]
    assert reconcile_once(Listener(), [secure], ctx)[0] == {HTTP_ID: "noop"}


def test_a_create_repeated_after_a_lost_answer_adopts_the_first(
    ctx: Context, both: list[Resource], edge: dict[str, str]
) -> None:
    arn = listener_on(edge, 443)["ListenerArn"]
    assert Listener().create(both[0], ctx).physical_id == arn  # same settings
    changed = https(edge, sslPolicy="ELBSecurityPolicy-2016-08")
    adopted = Listener().create(changed, ctx)  # DuplicateListener
    assert adopted.owned and adopted.physical_id == arn
    assert diff(changed, adopted).paths == ["sslPolicy"]
    assert len(elb().describe_listeners(LoadBalancerArn=edge["lb"])["Listeners"]) == 2


def test_orphans_on_owned_load_balancers_are_found_and_others_not_read(
    ctx: Context, both: list[Resource], edge: dict[str, str]
) -> None:
    # No listener is desired: only load balancers a stack in scope owns are read.
    _, calls = count_calls(ctx, lambda: Listener().observe([], ctx))
    assert Listener().observe([], ctx) == {}
    assert "elbv2:DescribeListeners" not in calls

    own_balancer(edge)
    found = Listener().observe([], ctx)
    assert sorted(found) == [HTTP_ID, HTTPS_ID]


def test_unresolved_references_observe_without_error(
    ctx: Context, both: list[Resource], edge: dict[str, str]
) -> None:
    # At plan time a reference is still {"ref": ...}: found through its owned load balancer.
    own_balancer(edge)
    pending = both[0].with_spec(
        {**both[0].spec, "loadBalancerArn": {"ref": "edge/alb", "attr": "arn"}}
    )
    found = Listener().observe([pending], ctx)
    assert (
        found[HTTPS_ID].owned
        and found[HTTPS_ID].physical_id == listener_on(edge, 443)["ListenerArn"]
    )


def test_delete_removes_it_and_tolerates_it_being_gone(
    ctx: Context, both: list[Resource], edge: dict[str, str]
) -> None:
    rec = Listener()
    found = rec.observe(both, ctx)[HTTPS_ID]
    rec.delete(found, ctx)
    rec.delete(found, ctx)  # already gone: not an error
    assert [
        item["Port"] for item in elb().describe_listeners(LoadBalancerArn=edge["lb"])["Listeners"]
    ] == [80]
    assert list(rec.observe(both, ctx)) == [HTTP_ID]
