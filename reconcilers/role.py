"""The IAM role kind: trust policy, description, inline policies and attached managed policies.

Observation costs two paginated reads for every role in scope, however many stacks: ListRoles
under /plumb/ (trust policy, description) and GetAccountAuthorizationDetails filtered to
roles (tags, inline and attached policies; it has no description). Per-role reads
(GetRole, ListRolePolicies, GetRolePolicy per policy) cost seven calls per stack and grew
with every environment. The trade-off: the second call lists every role of the account, so
plumb's own IAM policy needs iam:GetAccountAuthorizationDetails, and an account of
thousands of roles costs a page per thousand. A role too new to be in the details yet is
read on its own. Inline policies the spec does not name are drift and are deleted on
update: privilege creep is the drift that matters most.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.kinds.base import BaseReconciler
from controller.kinds.errors import error_code, ignoring
from controller.kinds.fields import normalize_set
from controller.kinds.iam_scope import Scope, tagging
from controller.kinds.iam_scope import arn as iam_arn
from controller.kinds.registry import register
from controller.kinds.tags import tag_delta, to_dict, to_list
from controller.model import TAG_ID, Diff, Observed, Resource
from reconcilers._boundary import BOUNDARY_ENV, ROLE_BOUNDARY, boundary_of

PATH = "/plumb/"  # every role plumb creates lives under it; ListRoles filters on it
_NOT_FOUND = "NoSuchEntity"
_ROLE = iam_arn("iam", "role/plumb/{name}", regional=False)  # a stronger role needs "bounded"


@register
class Role(BaseReconciler):
    """An IAM role with a fixed name under /plumb/, found by its ownership tags."""

    kind = "Role"
    iam_actions = (
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
    )
    iam_scopes = (
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
    )
    role_boundary = ROLE_BOUNDARY
    name_scope = "account"
    not_found_codes = frozenset({_NOT_FOUND})
    terminal_codes = frozenset(
        {
            "DeleteConflict",
            "MalformedPolicyDocument",
            "PolicyNotAttachable",
            "UnmodifiableEntity",
            "InvalidInput",
        }
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["roleName"])

    def iam_name(self, desired: Resource) -> str:
        """The role's path below /plumb/ and its name: its ARN is role/plumb/{this}."""
        return str(desired.spec.get("path", PATH))[len(PATH) :] + self.physical_name(desired)

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
        found: dict[str, Observed] = {}
        for name in sorted(set(listed) | set(wanted)):
            role = _role(ctx, name, listed.get(name), details.get(name))
            if role is None:
                continue
            if name in listed:
                self._sort(ctx, role, wanted.get(name), found)
            else:
                # Not under /plumb/: anything of that name is a conflict, never ours to change.
                found[wanted[name].logical_id] = _foreign(wanted[name], role, ctx)
        return found

    def _sort(
        self, ctx: Context, role: dict[str, Any], res: Resource | None, found: dict[str, Observed]
    ) -> None:
        tags = to_dict(role.get("Tags"))
        if ctx.owns(tags):
            mine = res if res is not None and res.logical_id == tags[TAG_ID] else None
            found[tags[TAG_ID]] = _observe_owned(ctx, role, tags, mine)
        if res is not None and res.logical_id not in found:
            found[res.logical_id] = _foreign(res, role, ctx)

    def create(self, desired: Resource, ctx: Context) -> Observed:
        spec = desired.spec
        extra = {"Description": spec["description"]} if spec.get("description") else {}
        extra |= {"PermissionsBoundary": boundary_of(spec)} if boundary_of(spec) else {}
        try:
            out = ctx.iam.create_role(
                RoleName=spec["roleName"],
                Path=spec.get("path", PATH),
                AssumeRolePolicyDocument=_json(spec["assumeRolePolicy"]),
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
        for policy_name, document in sorted((spec.get("inlinePolicies") or {}).items()):
            _put_inline(ctx.iam, out["RoleName"], policy_name, document)
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
                RoleName=name, PolicyDocument=_json(spec["assumeRolePolicy"])
            )
        if diff.changed("inlinePolicies"):
            _sync_inline(ctx.iam, name, spec["inlinePolicies"], diff)
        if diff.changed("managedPolicyArns"):
            _sync_managed(
                ctx.iam, name, spec["managedPolicyArns"], observed.spec.get("managedPolicyArns")
            )
        if diff.changed("permissionsBoundary"):
            boundary = spec["permissionsBoundary"]
            ctx.iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary)
        if diff.changed("tags"):
            _sync_tags(ctx.iam, name, observed.tags, desired.ownership_tags())
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # IAM refuses to delete a role that still has policies (DeleteConflict).
        name = observed.physical_id
        with ignoring(self.not_found_codes):
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
            {"PolicyName": policy, "PolicyDocument": document}
            for policy, document in _read_inline(ctx, name).items()
        ]
    return role


def _get_role(iam: Any, name: str) -> dict[str, Any] | None:
    try:
        return dict(iam.get_role(RoleName=name)["Role"])
    except ClientError as err:
        if error_code(err) == _NOT_FOUND:
            return None
        raise


def _observe_owned(
    ctx: Context, role: dict[str, Any], tags: dict[str, str], desired: Resource | None
) -> Observed:
    """Reads the policies only for a desired role whose spec manages them; orphans need none."""
    spec = _base_spec(role)
    managed = desired.spec if desired is not None else {}
    name = role["RoleName"]
    if "inlinePolicies" in managed:
        spec["inlinePolicies"] = {
            str(p["PolicyName"]): _document(p["PolicyDocument"])
            for p in role.get("RolePolicyList") or ()
        }
    if "managedPolicyArns" in managed:
        attached = role.get("AttachedManagedPolicies")
        if attached is None:
            attached = ctx.describe(
                "iam", "list_attached_role_policies", "AttachedPolicies", RoleName=name
            )
        spec["managedPolicyArns"] = sorted(p["PolicyArn"] for p in attached)
    return _observed(tags[TAG_ID], role, spec, tags, ctx)


def _read_inline(ctx: Context, name: str) -> dict[str, Any]:
    names = ctx.describe("iam", "list_role_policies", "PolicyNames", RoleName=name)
    return {
        policy: _document(
            ctx.iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        )
        for policy in names
    }


def _base_spec(role: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "roleName": role["RoleName"],
        "path": role.get("Path", "/"),
        "description": role.get("Description", ""),
        "assumeRolePolicy": _document(role.get("AssumeRolePolicyDocument")),
        "permissionsBoundary": (role.get("PermissionsBoundary") or {}).get(
            "PermissionsBoundaryArn", ""
        ),
    }


def _document(doc: Any) -> Any:
    """boto3 decodes IAM documents to dicts; a raw (URL-decoded) string is parsed too."""
    return json.loads(doc) if isinstance(doc, str) else doc


def _observed(
    logical_id: str,
    role: Mapping[str, Any],
    spec: dict[str, Any],
    tags: Mapping[str, str],
    ctx: Context,
    owned: bool = True,
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
        owned=owned,
        region=ctx.region,
    )


def _foreign(desired: Resource, role: dict[str, Any], ctx: Context) -> Observed:
    tags = to_dict(role.get("Tags"))
    return _observed(desired.logical_id, role, _base_spec(role), tags, ctx, owned=False)


# -- writing: one call per drifted item -----------------------------------------------


def _json(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _put_inline(iam: Any, role: str, name: str, document: Any) -> None:
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=_json(document))


def _sync_inline(iam: Any, role: str, want: Mapping[str, Any], diff: Diff) -> None:
    """Puts each policy the diff names and the spec holds; deletes each one it does not."""
    prefix = "inlinePolicies."
    drifted = {c.path[len(prefix) :] for c in diff.changes if c.path.startswith(prefix)}
    if diff.changed("inlinePolicies") and not drifted:
        drifted = set(want)  # the whole map differed (it was unknown at plan time)
    for name in sorted(drifted):
        if name not in want:
            with ignoring({_NOT_FOUND}):
                iam.delete_role_policy(RoleName=role, PolicyName=name)
        else:
            _put_inline(iam, role, name, want[name])


def _sync_managed(iam: Any, role: str, want: Sequence[str], have: Any) -> None:
    want_set, have_set = set(normalize_set(list(want))), set(have or [])
    for arn in sorted(want_set - have_set):
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    for arn in sorted(have_set - want_set):
        with ignoring({_NOT_FOUND}):
            iam.detach_role_policy(RoleName=role, PolicyArn=arn)


def _sync_tags(iam: Any, role: str, have: Mapping[str, str], want: Mapping[str, str]) -> None:
    to_set, to_remove = tag_delta(have, want)
    if to_set:
        iam.tag_role(RoleName=role, Tags=to_list(to_set))
    if to_remove:
        iam.untag_role(RoleName=role, TagKeys=to_remove)
