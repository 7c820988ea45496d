"""The IAM role kind: trust policy, description, inline policies and attached managed policies.

Observation costs two paginated reads for every role in scope, however many stacks: ListRoles
under /plumb/ (trust policy, description) and GetAccountAuthorizationDetails filtered to
roles (tags, inline and attached policies; it has no description). Per-role reads
(GetRole, ListRolePolicies, GetRolePolicy per policy) cost seven calls per stack and grew
with every environment. The trade-off: the second call lists every role of the account, so
plumb's own IAM policy needs iam:GetAccountAuthorizationDetails, and an account of
thousands of roles costs a page per thousand. A role too new to be in the details yet is
read on its own. A role's policies are read and written in _role_policies.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.errors import error_code, ignoring
from controller.kinds.iam_scope import Scope, tagging
from controller.kinds.iam_scope import arn as iam_arn
from controller.kinds.registry import register
from controller.kinds.tags import TagApi, to_dict
from controller.model import Diff, Observed, Resource
from reconcilers._boundary import BOUNDARY_ENV, ROLE_BOUNDARY, boundary_of
from reconcilers._ownership import by_owner
from reconcilers._role_policies import (
    NOT_FOUND,
    as_json,
    document,
    policies_of,
    put_inline,
    read_inline,
    sync_inline,
    sync_managed,
)

PATH = "/plumb/"  # every role plumb creates lives under it; ListRoles filters on it
_ROLE = iam_arn("iam", "role/plumb/{name}", regional=False)  # a stronger role needs "bounded"


@register
class Role(BaseReconciler):
    """An IAM role with a fixed name under /plumb/, found by its ownership tags."""

    descriptor = Descriptor(
        "Role",
        "iam",
        not_found_codes=frozenset({NOT_FOUND}),
        terminal_codes=frozenset(
            {
                "DeleteConflict",
                "MalformedPolicyDocument",
                "PolicyNotAttachable",
                "UnmodifiableEntity",
                "InvalidInput",
            }
        ),
        name_scope="account",
        iam=Grants(
            actions=(
                "iam:ListRoles",
                "iam:GetAccountAuthorizationDetails",
                "iam:GetRole",
                "iam:ListRolePolicies",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:CreateRole",
                "iam:UpdateRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:DeleteRole",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:PutRolePermissionsBoundary",
            ),
            scopes=(
                Scope(
                    (
                        "iam:GetRole",
                        "iam:ListRolePolicies",
                        "iam:GetRolePolicy",
                        "iam:ListAttachedRolePolicies",
                        "iam:UpdateRole",
                        "iam:UpdateAssumeRolePolicy",
                        "iam:DeleteRole",
                        "iam:DeleteRolePolicy",
                        "iam:DetachRolePolicy",
                    ),
                    (_ROLE,),
                ),
                Scope(
                    (
                        "iam:CreateRole",
                        "iam:PutRolePolicy",
                        "iam:AttachRolePolicy",
                        "iam:PutRolePermissionsBoundary",
                    ),
                    (_ROLE,),
                    ("bounded",),
                ),
                *tagging("iam:TagRole", "iam:UntagRole", (_ROLE,)),
            ),
            role_boundary=ROLE_BOUNDARY,
        ),
        tags=TagApi("tag_role", "untag_role", "RoleName"),
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["roleName"])

    def iam_name(self, desired: Resource) -> str:
        """The role's path below /plumb/ and its name: its ARN is role/plumb/{this}."""
        return str(desired.spec["path"])[len(PATH) :] + self.physical_name(desired)

    def warnings(self, desired: Resource, observed: Observed | None) -> list[str]:
        """A boundary the spec names is repaired as drift; the deployment's is reported."""
        want, spec = boundary_of(desired.spec), desired.spec
        have = observed.spec.get("permissionsBoundary", "") if observed else want
        if "permissionsBoundary" in spec or not want or have == want:
            return []
        return [f"role {spec['roleName']} lacks the boundary {BOUNDARY_ENV} names"]

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        wanted = {str(r.spec["roleName"]): r for r in desired}
        listed = {
            str(r["RoleName"]): r
            for r in ctx.describe("iam", "list_roles", "Roles", PathPrefix=PATH)
        }
        details = {
            str(d["RoleName"]): d
            for d in ctx.describe(
                "iam", "get_account_authorization_details", "RoleDetailList", Filter=["Role"]
            )
        }
        read = partial(_observe, ctx)
        ours = (
            (name, role, to_dict(role.get("Tags")))
            for name in sorted(listed)
            if (role := _role(ctx, name, listed[name], details.get(name))) is not None
        )
        found = by_owner(ctx, ours, wanted, read)
        for name in sorted(set(wanted) - set(listed)):
            # Not under /plumb/: anything of that name is a conflict, never ours to change.
            role = _role(ctx, name, None, details.get(name))
            if role is not None:
                lid = wanted[name].logical_id
                theirs = read(lid, role, to_dict(role.get("Tags")), None)
                found[lid] = dataclasses.replace(theirs, owned=False)
        return found

    def create(self, desired: Resource, ctx: Context) -> Observed:
        spec = desired.spec
        extra = {"Description": spec["description"]} if spec.get("description") else {}
        extra |= {"PermissionsBoundary": boundary_of(spec)} if boundary_of(spec) else {}
        try:
            out = ctx.iam.create_role(
                RoleName=spec["roleName"],
                Path=spec["path"],
                AssumeRolePolicyDocument=as_json(spec["assumeRolePolicy"]),
                Tags=ctx.tag_list(desired),
                **extra,
            )["Role"]
        except ClientError as err:
            if error_code(err) != "EntityAlreadyExists":
                raise
            # A retried create meeting its own role (the first answer was lost) adopts it.
            return self.adopt_own(desired, ctx, err)
        # The role is tagged from birth, so a crash below leaves an owned role whose
        # missing policies the next run repairs as drift.
        for policy_name, policy in sorted((spec.get("inlinePolicies") or {}).items()):
            put_inline(ctx.iam, out["RoleName"], policy_name, policy)
        for arn in sorted(spec.get("managedPolicyArns") or []):
            ctx.iam.attach_role_policy(RoleName=out["RoleName"], PolicyArn=arn)
        return _observed(desired.logical_id, out, dict(spec), desired.ownership_tags(), ctx)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        name = observed.physical_id
        spec = desired.spec
        if diff.changed("description"):
            ctx.iam.update_role(RoleName=name, Description=spec.get("description") or "")
        if diff.changed("assumeRolePolicy"):
            ctx.iam.update_assume_role_policy(
                RoleName=name, PolicyDocument=as_json(spec["assumeRolePolicy"])
            )
        if diff.changed("inlinePolicies"):
            sync_inline(ctx.iam, name, spec["inlinePolicies"], diff)
        if diff.changed("managedPolicyArns"):
            sync_managed(
                ctx.iam, name, spec["managedPolicyArns"], observed.spec.get("managedPolicyArns")
            )
        if diff.changed("permissionsBoundary"):
            boundary = spec["permissionsBoundary"]
            ctx.iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary)
        if diff.changed("tags"):
            self.sync_tags(ctx, name, observed, desired)
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # IAM refuses to delete a role that still has policies (DeleteConflict).
        name = observed.physical_id
        with self.deleting():
            for policy in ctx.describe("iam", "list_role_policies", "PolicyNames", RoleName=name):
                ctx.iam.delete_role_policy(RoleName=name, PolicyName=policy)
            attached = ctx.describe(
                "iam", "list_attached_role_policies", "AttachedPolicies", RoleName=name
            )
            for policy in attached:
                ctx.iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
            ctx.iam.delete_role(RoleName=name)


# -- observing ------------------------------------------------------------------------


def _role(
    ctx: Context, name: str, listed: Mapping[str, Any] | None, detail: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """One role as ListRoles (description) and the account's details (tags, policies) show
    it; a role too new to be in the details yet is read on its own, never taken as absent."""
    if detail is not None:
        return {**detail, **(listed or {})}
    if listed is None:
        return None
    role = _get_role(ctx.iam, name)
    if role is not None:
        role["RolePolicyList"] = [
            {"PolicyName": policy, "PolicyDocument": doc}
            for policy, doc in read_inline(ctx, name).items()
        ]
    return role


def _get_role(iam: Any, name: str) -> dict[str, Any] | None:
    with ignoring({NOT_FOUND}):
        return dict(iam.get_role(RoleName=name)["Role"])
    return None


def _observe(
    ctx: Context,
    logical_id: str,
    role: dict[str, Any],
    tags: dict[str, str],
    desired: Resource | None,
) -> Observed:
    """Reads the policies only for a desired role whose spec manages them; orphans need none."""
    managed = desired.spec if desired is not None else {}
    spec = {**_base_spec(role), **policies_of(ctx, role, managed)}
    return _observed(logical_id, role, spec, tags, ctx)


def _base_spec(role: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "roleName": role["RoleName"],
        "path": role.get("Path", "/"),
        "description": role.get("Description", ""),
        "assumeRolePolicy": document(role.get("AssumeRolePolicyDocument")),
        "permissionsBoundary": (role.get("PermissionsBoundary") or {}).get(
            "PermissionsBoundaryArn", ""
        ),
    }


def _observed(
    logical_id: str,
    role: Mapping[str, Any],
    spec: dict[str, Any],
    tags: Mapping[str, str],
    ctx: Context,
) -> Observed:
    return Observed(
        kind=Role.kind,
        logical_id=logical_id,
        physical_id=role["RoleName"],
        spec=spec,
        attrs={
            "id": role["RoleName"],
            "name": role["RoleName"],
            "arn": role["Arn"],
            "roleId": role.get("RoleId", ""),
        },
        tags=dict(tags),
        region=ctx.region,
    )
