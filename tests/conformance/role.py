"""Role: a task role with one inline policy; an inline policy added by hand is removed."""

from __future__ import annotations

import json

from controller.aws.context import Context
from controller.model import Observed, Resource
from tests.conformance import Sample
from tests.conformance import fixtures as fx

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _sample(ctx: Context) -> Resource:
    read_logs = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "*"}],
    }
    spec = {
        "roleName": "acme-prod-sample",
        "path": "/plumb/",
        "description": "conformance sample",
        "assumeRolePolicy": TRUST,
        "inlinePolicies": {"read-logs": read_logs},
    }
    return fx.resource(ctx, "Role", "role", spec)


def _grant_more_by_hand(ctx: Context, found: Observed) -> None:
    everything = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    ctx.iam.put_role_policy(
        RoleName=found.physical_id, PolicyName="admin", PolicyDocument=json.dumps(everything)
    )


def _foreign(ctx: Context, desired: Resource) -> None:
    ctx.iam.create_role(
        RoleName=desired.spec["roleName"],
        Path=desired.spec["path"],
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Tags=[fx.OTHER_COST_CENTER],
    )


SAMPLE = Sample(
    _sample,
    _grant_more_by_hand,
    "inlinePolicies.admin",
    ("DeleteRolePolicy",),
    foreign=_foreign,
    other={"path": "/plumb/other/"},
)
