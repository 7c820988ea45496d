"""Expansion of the Environment's identity: the ECS task and execution roles, and the
secrets the stack names.

The task role exists when the stack has a `service` or a `models` section (the app runs as
it, and it is what Bedrock authorizes). Its inline policies grant exactly what the app
uses, with no wildcard action: "bedrock-invoke" allows the two invoke actions on exactly
the listed models, and "storage-objects" read/write of the objects of this stack's bucket
(and listing it). Any other inline policy found on it is drift (privilege creep).

The execution role is what ECS itself uses to start the task: pull from this stack's ECR
repository, write to its log group, and read exactly the secrets the task references
(the spec's secrets and DocumentDB's managed master secret), nothing else.

Each distinct secret name in `service.secrets` and `models.azureOpenAI.apiKeySecret` is one
Secret, created empty: the value is set by its owner, never by plumb.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controller.kinds.document import Path
from controller.model import Resource
from reconcilers._bedrock import ACTIONS, model_arns, parse_model_id, profile_arn_parts
from reconcilers.environment.ids import (
    DOCDB_CLUSTER,
    EXECUTION_ROLE,
    LOG_GROUP,
    REPOSITORY,
    TASK_ROLE,
    secret_id,
)
from reconcilers.environment.storage import bucket_name, partition_of
from reconcilers.environment.view import ACCOUNT_ID, StackView, join, ref

ROLE_PATH = "/plumb/"
BEDROCK_POLICY = "bedrock-invoke"
STORAGE_POLICY = "storage-objects"
ECS_TASKS = "ecs-tasks.amazonaws.com"
ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


def expand(view: StackView) -> list[Resource]:
    return [*_task_role(view), *_execution_role(view), *_secrets(view)]


def _task_role(view: StackView) -> list[Resource]:
    if view.section("service") is None and view.section("models") is None:
        return []
    bedrock = (view.section("models") or {}).get("bedrock")
    inline: dict[str, Any] = {}
    if isinstance(bedrock, Mapping):
        models = [str(m) for m in bedrock.get("models") or []]
        inline[BEDROCK_POLICY] = bedrock_policy(models, view.region, partition_of(view.region))
    if view.section("storage") is not None and view.section("service") is not None:
        inline[STORAGE_POLICY] = storage_policy(bucket_name(view), partition_of(view.region))
    spec = {
        "roleName": f"{view.stack}-task",
        "path": ROLE_PATH,
        "description": f"ECS task role of {view.stack}, managed by plumb",
        "assumeRolePolicy": ecs_trust_policy(),
        "inlinePolicies": inline,
    }
    path: Path = ("models", "bedrock") if inline else ("service",)
    return [view.resource("Role", TASK_ROLE, spec, path=path)]


def storage_policy(bucket: str, partition: str) -> Mapping[str, Any]:
    arn = f"arn:{partition}:s3:::{bucket}"
    return _document(
        _allow(
            "ReadWriteObjects", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], [f"{arn}/*"]
        ),
        _allow("ListBucket", ["s3:ListBucket"], [arn]),
    )


def _execution_role(view: StackView) -> list[Resource]:
    svc = view.section("service")
    if svc is None:
        return []
    statements = [
        # GetAuthorizationToken is account-wide: IAM offers no narrower resource for it.
        _allow("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
        _allow("PullImage", list(ECR_PULL), [ref(REPOSITORY, "arn")]),
        _allow(
            "WriteLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [join(ref(LOG_GROUP, "arn"), ":log-stream:*")],
        ),
    ]
    secrets = task_secret_arns(view, svc)
    if secrets:
        statements.append(_allow("ReadTaskSecrets", ["secretsmanager:GetSecretValue"], secrets))
    spec = {
        "roleName": f"{view.stack}-execution",
        "path": ROLE_PATH,
        "description": f"ECS task execution role of {view.stack}, managed by plumb",
        "assumeRolePolicy": ecs_trust_policy(),
        "inlinePolicies": {"start-task": _document(*statements)},
    }
    return [view.resource("Role", EXECUTION_ROLE, spec, path=("service",))]


def task_secret_arns(view: StackView, svc: Mapping[str, Any]) -> list[Any]:
    """The ARNs of exactly the secrets the task definition reads."""
    names = {str(n) for n in (svc.get("secrets") or {}).values()}
    azure = (view.section("models") or {}).get("azureOpenAI") or {}
    if azure.get("apiKeySecret"):
        names.add(str(azure["apiKeySecret"]))
    arns: list[Any] = [ref(secret_id(name), "arn") for name in sorted(names)]
    if view.section("documentdb") is not None:
        arns.append(ref(DOCDB_CLUSTER, "masterSecretArn"))
    return arns


def _allow(sid: str, actions: list[str], resources: list[Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def _document(*statements: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


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
            "Secret", secret_id(name), {"name": name, "description": description}, path=path
        )
        for name, path in sorted(sources.items())
    ]
