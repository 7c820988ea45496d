"""SecurityGroup: HTTPS in from anywhere, out to a peer group; SSH opened by hand is
revoked."""

from __future__ import annotations

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx


def _sample(ctx: Context) -> Resource:
    vpc_id = fx.vpc(ctx)
    peer = fx.security_group(ctx, vpc_id)
    https = {"protocol": "tcp", "fromPort": 443, "toPort": 443}
    spec = {
        "groupName": "acme-prod-sample",
        "description": "acme-prod sample",
        "vpcId": vpc_id,
        "ingress": [{**https, "cidr": "0.0.0.0/0", "description": "HTTPS from anywhere"}],
        "egress": [{**https, "sourceGroupId": peer, "description": "to the peer"}],
    }
    return fx.resource(ctx, "SecurityGroup", "sg", spec)


def _open_ssh_by_hand(ctx: Context, found: Observed) -> None:
    ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ctx.ec2.authorize_security_group_ingress(GroupId=found.physical_id, IpPermissions=[ssh])


def _foreign(ctx: Context, desired: Resource) -> None:
    fx.security_group(ctx, desired.spec["vpcId"], desired.spec["groupName"])


SAMPLE = Sample(
    _sample, _open_ssh_by_hand, "ingress", ("RevokeSecurityGroupIngress",), foreign=_foreign
)
