"""A role plumb creates carries plumb's permissions boundary, and one that loses it (or
gets another) is repaired: plumb's policy can then require the boundary on every role
write, so leaked credentials cannot make a role stronger than it."""

from __future__ import annotations

import json

import pytest

from controller.aws.context import Context
from controller.kinds.diff import diff
from controller.model import Resource
from reconcilers.role import BOUNDARY_ENV, Role
from tests.conformance.role import TRUST
from tests.conftest import count_calls

ALLOW_LOGS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}],
}


def _policy(ctx: Context, name: str) -> str:
    doc = json.dumps(ALLOW_LOGS)
    return str(ctx.iam.create_policy(PolicyName=name, PolicyDocument=doc)["Policy"]["Arn"])


def _role(**extra: str) -> Resource:
    spec = {"roleName": "acme-prod-bounded", "path": "/plumb/", "assumeRolePolicy": TRUST}
    return Resource("Role", "acme-prod/identity/bounded", {**spec, **extra}, "us-east-1")


def _boundary(ctx: Context) -> str | None:
    role = ctx.iam.get_role(RoleName="acme-prod-bounded")["Role"]
    return (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")


def test_the_deployment_boundary_is_set_on_create(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = _policy(ctx, "plumb-boundary")
    monkeypatch.setenv(BOUNDARY_ENV, arn)
    Role().create(_role(), ctx)
    assert _boundary(ctx) == arn


def test_a_boundary_changed_by_hand_is_drift_and_repaired(ctx: Context) -> None:
    arn, other = _policy(ctx, "plumb-boundary"), _policy(ctx, "wider")
    desired = _role(permissionsBoundary=arn)
    rec = Role()
    rec.create(desired, ctx)
    assert _boundary(ctx) == arn
    ctx.iam.put_role_permissions_boundary(RoleName="acme-prod-bounded", PermissionsBoundary=other)
    found = rec.observe([desired], ctx)[desired.logical_id]
    delta = diff(desired, found)
    assert delta.paths == ["permissionsBoundary"], delta.paths
    _, ops = count_calls(ctx, lambda: rec.update(desired, found, delta, ctx))
    assert ops.get("iam:PutRolePermissionsBoundary") == 1, ops
    assert _boundary(ctx) == arn


def test_a_role_without_the_deployment_boundary_is_reported(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Role()
    rec.create(_role(), ctx)
    monkeypatch.setenv(BOUNDARY_ENV, _policy(ctx, "plumb-boundary"))
    found = rec.observe([_role()], ctx)["acme-prod/identity/bounded"]
    assert rec.warnings(_role(), found) == [
        f"role acme-prod-bounded lacks the boundary {BOUNDARY_ENV} names"
    ]
