"""Listener: HTTPS forwarding to a target group on an untagged ALB; a weaker TLS policy
set by hand is repaired."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx

SAMPLE_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def sample_balancer(ctx: Context) -> tuple[str, str]:
    """(load balancer ARN, target group ARN): an ALB in two AZs and a target group, untagged."""
    vpc = fx.vpc(ctx)
    balancer = ctx.elbv2.create_load_balancer(
        Name="sample-alb",
        Subnets=fx.subnets(ctx, vpc, count=2),
        SecurityGroups=[fx.security_group(ctx, vpc, "sample-alb")],
        Scheme="internet-facing",
        Type="application",
    )["LoadBalancers"][0]
    group = ctx.elbv2.create_target_group(
        Name="sample-app", Protocol="HTTP", Port=3000, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]
    return balancer["LoadBalancerArn"], group["TargetGroupArn"]


def _sample(ctx: Context) -> Resource:
    balancer, group = sample_balancer(ctx)
    # A listener is found through its load balancer: the stack's own, as plumb's would be.
    tags = [{"Key": k, "Value": v} for k, v in fx.owned_by_stack("alb").items()]
    ctx.elbv2.add_tags(ResourceArns=[balancer], Tags=tags)
    certificate = ctx.acm.request_certificate(
        DomainName="app.acme.example", ValidationMethod="DNS"
    )["CertificateArn"]
    spec = {
        "loadBalancerArn": balancer,
        "port": 443,
        "protocol": "HTTPS",
        "certificateArn": certificate,
        "sslPolicy": SAMPLE_POLICY,
        "defaultAction": {"type": "forward", "targetGroupArn": group},
    }
    return fx.resource(ctx, "Listener", "https", spec)


def _weaken_tls_by_hand(ctx: Context, found: Observed) -> None:
    ctx.elbv2.modify_listener(ListenerArn=found.physical_id, SslPolicy="ELBSecurityPolicy-2016-08")


def _foreign(ctx: Context, desired: Resource) -> None:
    """Someone else's listener on the port: AWS picks a listener's id, but a port takes one
    listener per load balancer."""
    action = desired.spec["defaultAction"]
    ctx.elbv2.create_listener(
        LoadBalancerArn=desired.spec["loadBalancerArn"],
        Protocol="HTTP",
        Port=desired.spec["port"],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": action["targetGroupArn"]}],
    )


SAMPLE = Sample(_sample, _weaken_tls_by_hand, "sslPolicy", ("ModifyListener",), foreign=_foreign)
