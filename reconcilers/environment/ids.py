"""The logical ids of an Environment's resources that other sections refer to (relative to
the stack: "app/service" is "acme-prod/app/service")."""

from __future__ import annotations

VPC = "network/vpc"
SG_ALB, SG_APP, SG_DOCDB, SG_REDIS = (
    "network/sg-alb",
    "network/sg-app",
    "network/sg-docdb",
    "network/sg-redis",
)

ALB = "lb/alb"
TARGET_GROUP = "lb/target-group"
HTTPS_LISTENER = "lb/https"
HTTP_LISTENER = "lb/http"

REPOSITORY = "app/repository"
LOG_GROUP = "app/log-group"
CLUSTER = "app/cluster"
TASK_DEFINITION = "app/task-definition"
SERVICE = "app/service"

DOCDB_SUBNETS = "data/docdb-subnets"
DOCDB_CLUSTER = "data/docdb"
REDIS_SUBNETS = "data/redis-subnets"
REDIS = "data/redis"

TASK_ROLE = "identity/task-role"
EXECUTION_ROLE = "identity/execution-role"
BUCKET = "storage/bucket"


def secret_id(name: str) -> str:
    """A secret's logical id from its name: "secrets/acme/prod/azure-openai-key"."""
    return f"secrets/{name}"


def subnet_id(tier: str, az: str) -> str:
    return f"network/subnet-{tier}-{az}"
