"""Guardrails on what a Role grants and which role a task runs as.

A role's trust policy may name AWS services and the stack's own account, never anyone
(`*`, NotPrincipal) or another account. Its managed policies come from an allow list: a
few AWS managed policies an ECS or Bedrock app needs, those the stack's policy adds
(`policy.allowManagedPolicies`), and the customer-managed policies of the stack's own
account; AdministratorAccess, PowerUserAccess and IAMFullAccess never without an
exception. An inline statement may not allow every action, or a whole service's (and no
wildcard IAM or STS action), on every resource. A task definition runs as roles of its
own stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from controller.kinds.guardrail import Path, Scope, how_to_except
from controller.kinds.registry import guardrail
from controller.model import Resource

ROLE, TASK_DEFINITION = "Role", "TaskDefinition"
TRUST_ANYONE, TRUST_FOREIGN = "trust-anyone", "trust-foreign-account"
ADMIN_POLICY, POLICY_NOT_ALLOWED = "admin-managed-policy", "managed-policy-not-allowed"
INLINE_STAR, OUTSIDE_STACK = "inline-star", "role-outside-stack"
ADMIN_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")
# AWS managed policies an ECS task (pull, logs, secrets, tracing) needs; the app's own
# grants (Bedrock, its bucket) are inline and scoped to what it uses.
ALLOWED_POLICIES = (
    "AWSXRayDaemonWriteAccess",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonECSTaskExecutionRolePolicy",
    "CloudWatchAgentServerPolicy",
)
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/(?:.*/)?([^/]+)$")
_PRINCIPAL_ACCOUNT = re.compile(r"^(?:arn:aws[a-z-]*:(?:iam|sts)::([0-9]{12}):|([0-9]{12})$)")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}|\{\}):role/(?:.*/)?([^/]+)$")
_PRIVILEGED = ("iam:", "sts:")

Finding = tuple[Path, str, str]


@guardrail(
    ROLE,
    {
        TRUST_ANYONE: "a trust policy anyone may use: Principal '*' or NotPrincipal",
        TRUST_FOREIGN: "a trust policy naming an account other than the stack's own",
    },
)
def trust(res: Resource, scope: Scope) -> Iterator[Finding]:
    doc = res.spec.get("assumeRolePolicy")
    for path, statement in _allow_statements(doc, ("assumeRolePolicy",)):
        if "NotPrincipal" in statement:
            yield (*path, "NotPrincipal"), TRUST_ANYONE, _anyone(res, "NotPrincipal")
        principal = statement.get("Principal")
        if principal == "*":
            yield (*path, "Principal"), TRUST_ANYONE, _anyone(res, "Principal '*'")
            continue
        for where, value in _principals(principal, (*path, "Principal")):
            if isinstance(value, str) and "*" in value:
                yield where, TRUST_ANYONE, _anyone(res, f"principal '{value}'")
                continue
            account = _principal_account(value)
            if account and scope.accounts and account not in scope.accounts:
                yield where, TRUST_FOREIGN, _foreign(res, account, scope)


def _principals(principal: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    """(path, value) of each AWS and Federated principal; services are always fine."""
    if not isinstance(principal, Mapping):
        return
    for key in ("AWS", "Federated"):
        value = principal.get(key)
        if isinstance(value, list):
            yield from (((*path, key, i), v) for i, v in enumerate(value))
        elif value is not None:
            yield (*path, key), value


def _principal_account(value: Any) -> str | None:
    """The literal account a principal names; a reference (the stack's own account, one of
    its roles) names none."""
    text = _literal(value)
    match = _PRINCIPAL_ACCOUNT.match(text) if text else None
    return (match.group(1) or match.group(2)) if match else None


def _literal(value: Any) -> str | None:
    """A string, or a join's pieces with "{}" where a reference goes; None for a reference."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("join"), list):
        return "".join(p if isinstance(p, str) else "{}" for p in value["join"])
    return None


def _anyone(res: Resource, what: str) -> str:
    return (
        f"{res.logical_id}: the trust policy's {what} lets anyone assume the role; name the "
        f"service or role that needs it, {how_to_except(TRUST_ANYONE, res.name)}"
    )


def _foreign(res: Resource, account: str, scope: Scope) -> str:
    own = ", ".join(sorted(scope.accounts))
    return (
        f"{res.logical_id}: the trust policy lets account {account} assume the role, not the "
        f"stack's own ({own}); trust a role of this account, "
        + how_to_except(TRUST_FOREIGN, res.name)
    )


@guardrail(
    ROLE,
    {
        ADMIN_POLICY: "AdministratorAccess, PowerUserAccess or IAMFullAccess attached",
        POLICY_NOT_ALLOWED: "a managed policy outside the allow list",
    },
)
def managed(res: Resource, scope: Scope) -> Iterator[Finding]:
    allowed = {*ALLOWED_POLICIES, *(_policy_name(p) for p in scope.managed_policies)}
    for index, arn in enumerate(res.spec.get("managedPolicyArns") or ()):
        path: Path = ("managedPolicyArns", index)
        match = _POLICY_ARN.match(arn) if isinstance(arn, str) else None
        owner, name = (match.group(1), match.group(2)) if match else ("", str(arn))
        if owner == "aws" and name in ADMIN_POLICIES:
            yield path, ADMIN_POLICY, _admin(res, name)
        elif owner == "aws" and name not in allowed:
            yield path, POLICY_NOT_ALLOWED, _not_allowed(res, name)
        elif owner != "aws" and scope.accounts and owner not in scope.accounts:
            yield path, POLICY_NOT_ALLOWED, _not_allowed(res, f"{name} of account {owner}")


def _policy_name(entry: str) -> str:
    return entry.rsplit("/", 1)[-1]


def _admin(res: Resource, name: str) -> str:
    return (
        f"{res.logical_id}: {name} grants (nearly) everything; write an inline policy of "
        f"what the role uses, {how_to_except(ADMIN_POLICY, res.name)}"
    )


def _not_allowed(res: Resource, name: str) -> str:
    return (
        f"{res.logical_id}: managed policy {name} is not on the allow list; add it to "
        f"policy.allowManagedPolicies, {how_to_except(POLICY_NOT_ALLOWED, res.name)}"
    )


@guardrail(ROLE, {INLINE_STAR: "an inline statement allowing '*' (or a whole service) on '*'"})
def inline(res: Resource, scope: Scope) -> Iterator[Finding]:
    for name, doc in sorted((res.spec.get("inlinePolicies") or {}).items()):
        for path, statement in _allow_statements(doc, ("inlinePolicies", name)):
            if not _on_everything(statement):
                continue
            if "NotAction" in statement:
                yield (*path, "NotAction"), INLINE_STAR, _star(res, name, "every action not listed")
            for where, action in _listed(statement.get("Action"), (*path, "Action")):
                if _too_wide(action):
                    yield where, INLINE_STAR, _star(res, name, f"action '{action}'")


def _on_everything(statement: Mapping[str, Any]) -> bool:
    if "NotResource" in statement:
        return True  # everything but a few resources
    return any(r == "*" for _, r in _listed(statement.get("Resource"), ()))


def _too_wide(action: Any) -> bool:
    if not isinstance(action, str):
        return False
    service, _, verb = action.lower().partition(":")  # IAM reads actions case-blind
    return action == "*" or verb == "*" or ("*" in verb and f"{service}:" in _PRIVILEGED)


def _star(res: Resource, policy: str, what: str) -> str:
    return (
        f"{res.logical_id}: inline policy {policy} allows {what} on every resource; list the "
        f"actions and resources the role uses, {how_to_except(INLINE_STAR, res.name)}"
    )


def _allow_statements(doc: Any, path: Path) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    statements = doc.get("Statement") if isinstance(doc, Mapping) else None
    base: Path = (*path, "Statement")
    found = [(base, statements)] if isinstance(statements, Mapping) else []
    if isinstance(statements, list):
        found = [((*base, i), s) for i, s in enumerate(statements)]
    for where, statement in found:
        if isinstance(statement, Mapping) and statement.get("Effect") == "Allow":
            yield where, statement


def _listed(value: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, list):
        yield from (((*path, i), v) for i, v in enumerate(value))
    elif value is not None:
        yield path, value


@guardrail(TASK_DEFINITION, {OUTSIDE_STACK: "a task or execution role the stack does not define"})
def task_roles(res: Resource, scope: Scope) -> Iterator[Finding]:
    roles = {r.name: r for r in scope.resources if r.kind == ROLE}
    names = {str(r.spec.get("roleName")) for r in roles.values()}
    for field in ("taskRoleArn", "executionRoleArn"):
        value = res.spec.get(field)
        if value is None or _refers_to_role(value, roles):
            continue
        match = _ROLE_ARN.match(_literal(value) or "")
        account = match.group(1) if match else ""
        foreign = account.isdigit() and scope.accounts and account not in scope.accounts
        if match is None or match.group(2) not in names or foreign:
            yield (field,), OUTSIDE_STACK, _outside(res, field, scope.stack)


def _refers_to_role(value: Any, roles: Mapping[str, Resource]) -> bool:
    if not isinstance(value, Mapping):
        return False
    join = value.get("join")
    parts = join if isinstance(join, list) else [value]
    return any(isinstance(p, Mapping) and p.get("ref") in roles for p in parts)


def _outside(res: Resource, field: str, stack: str) -> str:
    return (
        f"{res.logical_id}: {field} is not a role of stack {stack}; refer to one "
        f"({{ref: section/role, attr: arn}}), {how_to_except(OUTSIDE_STACK, res.name)}"
    )
