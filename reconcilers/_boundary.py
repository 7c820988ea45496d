"""The permissions boundary on the roles plumb creates: which one, and the most it allows."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

# The managed policy every role plumb creates gets as its permissions boundary, unless its
# spec names one: plumb's own IAM policy can require it (`plumb iam-policy --boundary-arn`).
BOUNDARY_ENV = "PLUMB_PERMISSIONS_BOUNDARY"

# What the Environment's roles use (reconcilers/environment/identity.py): ECR pulls, log
# writes, reading secrets, the stack's objects, invoking Bedrock models. Printed by
# `plumb iam-policy --boundary`; a role plumb creates can never be allowed more.
ROLE_BOUNDARY = (
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetAuthorizationToken",
    "ecr:GetDownloadUrlForLayer",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:PutObject",
    "secretsmanager:GetSecretValue",
)


def boundary_of(spec: Mapping[str, Any]) -> str:
    """The permissions boundary a role gets: its spec's, else the deployment's."""
    return str(spec.get("permissionsBoundary") or os.environ.get(BOUNDARY_ENV, ""))
