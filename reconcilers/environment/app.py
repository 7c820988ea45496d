"""Expansion of the Environment's service section: the app on ECS Fargate and what it needs.

Logical ids: app/repository (ECR), app/log-group, app/cluster, app/task-definition,
app/service. The task definition's environment is wired from the other sections, so the
app finds everything it talks to without a hand-kept config file:

  DOCDB_HOST, DOCDB_PORT, DOCDB_USERNAME   the cluster's endpoint and master user;
  DOCDB_PASSWORD (secret)                  the key "password" of the master secret that
                                           DocumentDB manages (plumb never holds it)
  REDIS_URL                                rediss://host:port (redis:// without TLS)
  S3_BUCKET, AWS_REGION                    the stack's bucket and region
  BEDROCK_MODEL_IDS                        the model ids, comma-separated
  AZURE_OPENAI_ENDPOINT, _DEPLOYMENT       from models.azureOpenAI
  AZURE_OPENAI_API_KEY (secret)            the key's secret, when service.secrets does
                                           not name it already
A variable the spec's own service.environment sets wins over a wired one.

The service waits for both listeners (`after`): ECS refuses a target group that no load
balancer forwards to yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.model import Resource
from reconcilers.environment.data import DOCDB_USER
from reconcilers.environment.ids import (
    CLUSTER,
    DOCDB_CLUSTER,
    EXECUTION_ROLE,
    HTTP_LISTENER,
    HTTPS_LISTENER,
    LOG_GROUP,
    REDIS,
    REPOSITORY,
    SERVICE,
    SG_APP,
    TARGET_GROUP,
    TASK_DEFINITION,
    TASK_ROLE,
    secret_id,
    subnet_id,
)
from reconcilers.environment.storage import bucket_name
from reconcilers.environment.view import StackView, join, ref
from reconcilers.repository import keep_last_images_policy

CONTAINER = "app"


def expand(view: StackView) -> list[Resource]:
    svc = view.section("service")
    if svc is None:
        return []
    image = svc["image"]
    path = ("service",)
    return [
        view.resource(
            "Repository",
            REPOSITORY,
            {
                "repositoryName": image["repository"],
                "imageTagMutability": "IMMUTABLE",
                "scanOnPush": True,
                "encryptionType": "AES256",
                "lifecyclePolicy": keep_last_images_policy(int(image["keepImages"])),
            },
            path=(*path, "image", "repository"),
            expects={"imageTags": [image["tag"]]},
        ),
        view.resource(
            "LogGroup",
            LOG_GROUP,
            {"logGroupName": log_group_name(view), "retentionInDays": svc["logRetentionDays"]},
            path=(*path, "logRetentionDays"),
        ),
        view.resource(
            "EcsCluster",
            CLUSTER,
            {"clusterName": view.stack, "containerInsights": "enabled"},
            path=path,
        ),
        _task_definition(view, svc),
        _service(view, svc),
    ]


def log_group_name(view: StackView) -> str:
    return f"/ecs/{view.stack}"


def _task_definition(view: StackView, svc: Mapping[str, Any]) -> Resource:
    image = svc["image"]
    container = {
        "name": CONTAINER,
        "image": join(ref(REPOSITORY, "uri"), ":", image["tag"]),
        "port": svc["port"],
        "environment": {**wired_environment(view), **dict(svc["environment"])},
        "secrets": wired_secrets(view, svc),
        "logGroup": log_group_name(view),
        "logStreamPrefix": CONTAINER,
    }
    spec = {
        "family": f"{view.stack}-app",
        "cpu": str(svc["cpu"]),
        "memory": str(svc["memory"]),
        "executionRoleArn": ref(EXECUTION_ROLE, "arn"),
        "taskRoleArn": ref(TASK_ROLE, "arn"),
        "container": container,
    }
    # The log group is named, not referenced: make it exist before the first task starts.
    return view.resource(
        "TaskDefinition", TASK_DEFINITION, spec, path=("service",), after=(LOG_GROUP,)
    )


def wired_environment(view: StackView) -> dict[str, Any]:
    env: dict[str, Any] = {"AWS_REGION": view.region}
    docdb, redis = view.section("documentdb"), view.section("redis")
    if docdb is not None:
        env["DOCDB_HOST"] = ref(DOCDB_CLUSTER, "endpoint")
        env["DOCDB_PORT"] = join(ref(DOCDB_CLUSTER, "port"))
        env["DOCDB_USERNAME"] = DOCDB_USER
    if redis is not None:
        scheme = "rediss://" if redis["transitEncryption"] else "redis://"
        env["REDIS_URL"] = join(scheme, ref(REDIS, "primaryEndpoint"), ":", ref(REDIS, "port"))
    if view.section("storage") is not None:
        env["S3_BUCKET"] = bucket_name(view)
    models = view.section("models") or {}
    if models.get("bedrock"):
        env["BEDROCK_MODEL_IDS"] = ",".join(str(m) for m in models["bedrock"]["models"])
    azure = models.get("azureOpenAI") or {}
    if azure:
        env["AZURE_OPENAI_ENDPOINT"] = str(azure["endpoint"])
        env["AZURE_OPENAI_DEPLOYMENT"] = str(azure["deployment"])
    return env


def wired_secrets(view: StackView, svc: Mapping[str, Any]) -> dict[str, Any]:
    """Variable -> valueFrom ARN: the spec's secrets, the Azure key, DocumentDB's password."""
    names = {str(var): str(name) for var, name in (svc.get("secrets") or {}).items()}
    azure = (view.section("models") or {}).get("azureOpenAI") or {}
    key = azure.get("apiKeySecret")
    if key and key not in names.values():
        names.setdefault("AZURE_OPENAI_API_KEY", str(key))
    out: dict[str, Any] = {var: ref(secret_id(name), "arn") for var, name in names.items()}
    if view.section("documentdb") is not None:
        out["DOCDB_PASSWORD"] = join(ref(DOCDB_CLUSTER, "masterSecretArn"), ":password::")
    return out


def _service(view: StackView, svc: Mapping[str, Any]) -> Resource:
    net = view.section("network") or {}
    azs = [str(az) for az in net.get("availabilityZones") or ()]
    private = azs[: len(net.get("privateSubnets") or ())]
    spec: dict[str, Any] = {
        "serviceName": f"{view.stack}-app",
        "cluster": ref(CLUSTER, "arn"),
        "taskDefinition": ref(TASK_DEFINITION, "arn"),
        "desiredCount": svc["desiredCount"],
        "launchType": "FARGATE",
        "subnets": [ref(subnet_id("private", az)) for az in private],
        "securityGroups": [ref(SG_APP)],
        "assignPublicIp": "DISABLED",
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }
    after: tuple[str, ...] = ()
    if view.section("loadBalancer") is not None:
        spec["loadBalancer"] = {
            "targetGroupArn": ref(TARGET_GROUP, "arn"),
            "containerName": CONTAINER,
            "containerPort": svc["port"],
        }
        spec["healthCheckGracePeriodSeconds"] = 60
        after = (HTTPS_LISTENER, HTTP_LISTENER)
    return view.resource("EcsService", SERVICE, spec, path=("service", "desiredCount"), after=after)
