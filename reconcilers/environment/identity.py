"""Expansion of the Environment's identity: the ECS task role and the secrets the stack names.

The task role exists when the stack has a `service` or a `models` section (the app runs as
it, and it is what Bedrock authorizes). Its one inline policy, "bedrock-invoke", allows
exactly the two invoke actions on exactly the listed models: no wildcard action or
resource. Without `models.bedrock` the role has no inline policy at all, and any inline
policy found on it is drift.

Each distinct secret name in `service.secrets` and `models.azureOpenAI.apiKeySecret` is one
Secret, created empty: the value is set by its owner, never by plumb.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controller.model import Resource
from controller.specs.document import Path
from reconcilers._bedrock import ACTIONS, model_arns, parse_model_id, profile_arn_parts
from reconcilers.environment.storage import partition_of
from reconcilers.environment.view import ACCOUNT_ID, StackView, join

TASK_ROLE = "identity/task-role"
ROLE_PATH = "/plumb/"
BEDROCK_POLICY = "bedrock-invoke"
ECS_TASKS = "ecs-tasks.amazonaws.com"


def expand(view: StackView) -> list[Resource]:
    return [*_task_role(view), *_secrets(view)]


def _task_role(view: StackView) -> list[Resource]:
    if view.section("service") is None and view.section("models") is None:
        return []
    bedrock = (view.section("models") or {}).get("bedrock")
    inline: dict[str, Any] = {}
    if isinstance(bedrock, Mapping):
        models = [str(m) for m in bedrock.get("models") or []]
        inline[BEDROCK_POLICY] = bedrock_policy(models, view.region, partition_of(view.region))
    spec = {
        "roleName": f"{view.stack}-task",
        "path": ROLE_PATH,
        "description": f"ECS task role of {view.stack}, managed by plumb",
        "assumeRolePolicy": ecs_trust_policy(),
        "inlinePolicies": inline,
    }
    path: Path = ("models", "bedrock") if inline else ("service",)
    return [view.resource("Role", TASK_ROLE, spec, path=path)]


def ecs_trust_policy() -> Mapping[str, Any]:
    """ECS tasks of this account only: aws:SourceAccount guards against a confused deputy."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ECS_TASKS},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": join(ACCOUNT_ID)}},
            }
        ],
    }


def bedrock_policy(models: Iterable[str], region: str, partition: str) -> Mapping[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InvokeListedModels",
                "Effect": "Allow",
                "Action": sorted(ACTIONS),
                "Resource": bedrock_resources(models, region, partition),
            }
        ],
    }


def bedrock_resources(models: Iterable[str], region: str, partition: str) -> list[Any]:
    """Sorted, deduplicated ARNs; a profile's own ARN is a join around the account id.

    An id that parses as neither a model nor a profile is skipped here: the Environment's
    semantic check reports it before anything expands.
    """
    by_key: dict[str, Any] = {}
    for model_id in models:
        ref = parse_model_id(model_id)
        if ref is None:
            continue
        if ref.is_profile:
            prefix, suffix = profile_arn_parts(ref, region, partition)
            by_key[f"{prefix}<account>{suffix}"] = join(prefix, ACCOUNT_ID, suffix)
        for arn in model_arns(ref, region, partition):
            by_key[arn] = arn
    return [by_key[key] for key in sorted(by_key)]


def _secrets(view: StackView) -> list[Resource]:
    sources: dict[str, Path] = {}
    service = view.section("service") or {}
    for var, name in sorted((service.get("secrets") or {}).items()):
        sources.setdefault(str(name), ("service", "secrets", str(var)))
    azure = (view.section("models") or {}).get("azureOpenAI") or {}
    if azure.get("apiKeySecret"):
        sources.setdefault(str(azure["apiKeySecret"]), ("models", "azureOpenAI", "apiKeySecret"))
    description = f"Secret of {view.stack}; its value is set outside plumb"
    return [
        view.resource(
            "Secret", f"secrets/{name}", {"name": name, "description": description}, path=path
        )
        for name, path in sorted(sources.items())
    ]
