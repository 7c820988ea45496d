"""A role's inline and attached managed policies: read, and written one call per drifted
item. Inline policies the spec does not name are drift and are deleted: privilege creep
is the drift that matters most."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from controller.aws.context import Context
from controller.kinds.comparators import normalize_set
from controller.kinds.errors import ignoring
from controller.model import Diff

NOT_FOUND = "NoSuchEntity"


def document(doc: Any) -> Any:
    """boto3 decodes IAM documents to dicts; a raw (URL-decoded) string is parsed too."""
    return json.loads(doc) if isinstance(doc, str) else doc


def as_json(doc: Any) -> str:
    return doc if isinstance(doc, str) else json.dumps(doc)


def read_inline(ctx: Context, role: str) -> dict[str, Any]:
    """The role's inline policies, one read each: for a role too new to be in the
    account's authorization details yet."""
    names = ctx.describe("iam", "list_role_policies", "PolicyNames", RoleName=role)
    return {
        policy: document(
            ctx.iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
        )
        for policy in names
    }


def policies_of(
    ctx: Context, role: Mapping[str, Any], managed: Mapping[str, Any]
) -> dict[str, Any]:
    """The policies of `role` (as the account's details show it) that the spec `managed`
    names, as the spec spells them."""
    out: dict[str, Any] = {}
    if "inlinePolicies" in managed:
        out["inlinePolicies"] = {
            str(p["PolicyName"]): document(p["PolicyDocument"])
            for p in role.get("RolePolicyList") or ()
        }
    if "managedPolicyArns" in managed:
        attached = role.get("AttachedManagedPolicies")
        if attached is None:
            attached = ctx.describe(
                "iam", "list_attached_role_policies", "AttachedPolicies", RoleName=role["RoleName"]
            )
        out["managedPolicyArns"] = sorted(p["PolicyArn"] for p in attached)
    return out


def put_inline(iam: Any, role: str, name: str, doc: Any) -> None:
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=as_json(doc))


def sync_inline(iam: Any, role: str, want: Mapping[str, Any], diff: Diff) -> None:
    """Puts each policy the diff names and the spec holds; deletes each one it does not."""
    prefix = "inlinePolicies."
    drifted = {c.path[len(prefix) :] for c in diff.changes if c.path.startswith(prefix)}
    if diff.changed("inlinePolicies") and not drifted:
        drifted = set(want)  # the whole map differed (it was unknown at plan time)
    for name in sorted(drifted):
        if name not in want:
            with ignoring({NOT_FOUND}):
                iam.delete_role_policy(RoleName=role, PolicyName=name)
        else:
            put_inline(iam, role, name, want[name])


def sync_managed(iam: Any, role: str, want: Sequence[str], have: Any) -> None:
    want_set, have_set = set(normalize_set(list(want))), set(have or [])
    for arn in sorted(want_set - have_set):
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    for arn in sorted(have_set - want_set):
        with ignoring({NOT_FOUND}):
            iam.detach_role_policy(RoleName=role, PolicyArn=arn)
