"""The first slice through the real CLI: the bucket, the task role and the secrets.

Each test reads what AWS holds back through boto3 on the moto server; plumb's own output is
only trusted for exit codes, the plan text a person reads, and the API-call count.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from controller.cli.demo import drift
from tests.e2e.conftest import Cli, git_repo

PROD = "acme-prod"


def test_apply_builds_every_setting_and_a_second_apply_writes_nothing(cli: Cli, aws) -> None:
    cli("apply", "--yes", check=0)

    bucket = f"{PROD}-storage"
    rules = aws.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = aws.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = aws.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["Expiration"]["Days"] == 90 and rule["Status"] == "Enabled"
    policy = json.loads(aws.s3.get_bucket_policy(Bucket=bucket)["Policy"])
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"]["Bool"]["aws:SecureTransport"] in ("false", False)
    tags = {t["Key"]: t["Value"] for t in aws.s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags["CostCenter"] == "4711" and tags["plumb:stack"] == PROD

    role = aws.iam.get_role(RoleName=f"{PROD}-task")["Role"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"]["Service"] == "ecs-tasks.amazonaws.com"
    doc = aws.iam.get_role_policy(RoleName=f"{PROD}-task", PolicyName="bedrock-invoke")
    (stmt,) = doc["PolicyDocument"]["Statement"]
    assert sorted(stmt["Action"]) == [
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
    ]
    assert (
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
        in stmt["Resource"]
    )
    assert (
        "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
        in stmt["Resource"]
    )
    assert not any("*" in r for r in stmt["Resource"])

    secret = aws.secretsmanager.describe_secret(SecretId="acme/prod/azure-openai-key")
    assert {t["Key"]: t["Value"] for t in secret["Tags"]}["plumb:stack"] == PROD

    cli("apply", "--yes", check=0)
    run = cli.latest_run()
    assert run["apiCalls"]["writes"] == 0, run["apiCalls"]["byOperation"]
    assert run["outcome"] == "no-changes"


def test_drift_names_each_field_and_apply_repairs_it(cli: Cli, aws) -> None:
    cli("apply", "--yes", check=0)
    drift.shorten_lifecycle(PROD, days=7)
    drift.allow_public_policies(PROD)
    drift.widen_role_policy(PROD, "s3:GetObject")

    found = cli("drift", "--stack", PROD, check=2).stdout
    assert "lifecycle.expireAfterDays: 7 → 90" in found
    assert "publicAccessBlock.blockPublicPolicy: false → true" in found
    assert "s3:GetObject" in found

    cli("apply", "--yes", "--stack", PROD, check=0)
    assert cli.latest_run()["apiCalls"]["writes"] == 3, "one write per drifted field"
    bucket = f"{PROD}-storage"
    assert (
        aws.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["Expiration"]["Days"]
        == 90
    )
    assert aws.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"][
        "BlockPublicPolicy"
    ]
    doc = aws.iam.get_role_policy(RoleName=f"{PROD}-task", PolicyName="bedrock-invoke")
    assert "s3:GetObject" not in doc["PolicyDocument"]["Statement"][0]["Action"]
    cli("drift", "--stack", PROD, check=0)


def test_an_inline_policy_added_by_hand_is_drift_and_is_removed(cli: Cli, aws) -> None:
    cli("apply", "--yes", check=0)
    aws.iam.put_role_policy(
        RoleName=f"{PROD}-task",
        PolicyName="creep",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    assert "inlinePolicies.creep" in cli("drift", check=2).stdout
    cli("apply", "--yes", check=0)
    assert sorted(aws.iam.list_role_policies(RoleName=f"{PROD}-task")["PolicyNames"]) == [
        "bedrock-invoke",
        "storage-objects",
    ]


def test_losing_the_state_file_creates_nothing_new(cli: Cli, aws, workdir: Path) -> None:
    cli("apply", "--yes", check=0)
    (workdir / ".plumb" / "state.db").unlink()
    cli("apply", "--yes", check=0)
    run = cli.latest_run()
    assert run["counts"]["create"] == 0 and run["apiCalls"]["writes"] == 0
    assert len(aws.iam.list_roles(PathPrefix="/plumb/")["Roles"]) == 4  # task + execution, x2
    secrets = aws.secretsmanager.list_secrets()["SecretList"]
    # Two of plumb's own, and the master secret DocumentDB manages for each cluster.
    assert sorted(s["Name"] for s in secrets if not s["Name"].startswith("rds!")) == [
        "acme/prod/azure-openai-key",
        "acme/staging/azure-openai-key",
    ]
    assert len(secrets) == 4


def test_a_bucket_that_is_not_ours_is_never_taken_over(cli: Cli, aws) -> None:
    aws.s3.create_bucket(Bucket=f"{PROD}-storage")
    out = cli("apply", "--yes", check=1).stdout
    assert "not owned by stack acme-prod" in out
    with pytest.raises(ClientError, match="NoSuchTagSet"):
        aws.s3.get_bucket_tagging(Bucket=f"{PROD}-storage")  # untouched: still untagged


def test_a_stale_saved_plan_is_refused(cli: Cli, aws, workdir: Path) -> None:
    cli("apply", "--yes", check=0)
    drift.shorten_lifecycle(PROD, days=30)
    cli("plan", "-o", "plan.json", check=0)
    drift.shorten_lifecycle(PROD, days=10)
    refused = cli("apply", "--plan", "plan.json", check=1)
    assert "stale" in refused.stderr
    rules = aws.s3.get_bucket_lifecycle_configuration(Bucket=f"{PROD}-storage")["Rules"]
    assert rules[0]["Expiration"]["Days"] == 10, "a refused plan changes nothing"
    cli("plan", "-o", "plan.json", check=0)
    cli("apply", "--plan", "plan.json", check=0)
    rules = aws.s3.get_bucket_lifecycle_configuration(Bucket=f"{PROD}-storage")["Rules"]
    assert rules[0]["Expiration"]["Days"] == 90


def test_bad_input_changes_nothing_in_aws_or_the_state(cli: Cli, aws, workdir: Path) -> None:
    spec = workdir / "specs" / "acme-prod.yaml"
    spec.write_text(
        spec.read_text()
        .replace("expireAfterDays: 90", "expireAfterDays: 0")
        .replace(
            "apiKeySecret: acme/prod/azure-openai-key",
            "apiKeySecret: sk-proj-4fQz8XbN2mK7pL1wR9tY3vJ6",
        )
    )
    out = cli("apply", "--yes", check=1)
    assert "acme-prod.yaml:" in out.stderr and "spec.storage.expireAfterDays" in out.stderr
    assert "spec.models.azureOpenAI.apiKeySecret" in out.stderr
    assert "sk-proj-4fQz8XbN2mK7pL1wR9tY3vJ6" not in out.stderr + out.stdout
    assert aws.s3.list_buckets()["Buckets"] == []
    assert not (workdir / ".plumb" / "state.db").exists()


def test_a_secret_value_never_reaches_output_state_or_reports(cli: Cli, aws, workdir: Path) -> None:
    cli("apply", "--yes", check=0)
    value = "Zq8-VERY-SECRET-VALUE-5513"
    aws.secretsmanager.put_secret_value(SecretId="acme/prod/azure-openai-key", SecretString=value)
    outputs = [cli("plan", "--format", f, check=0).stdout for f in ("text", "json", "markdown")]
    outputs.append(cli("apply", "--yes", check=0).stdout)
    outputs += [
        cli("report", "latest", "--format", f, check=0).stdout for f in ("json", "markdown", "html")
    ]
    stored = b"".join(p.read_bytes() for p in (workdir / ".plumb").rglob("*") if p.is_file())
    assert value not in "".join(outputs) and value.encode() not in stored


def test_sync_applies_a_git_commit_and_the_report_names_it(cli: Cli, aws, workdir: Path) -> None:
    repo = git_repo(workdir, workdir / "specs")
    sha = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    cli("sync", "--repo", str(repo), check=0)
    run = cli.latest_run()
    assert run["commit"]["sha"] == sha and run["commit"]["author"].startswith("Ada Platform")
    assert run["outcome"] == "succeeded"
    assert aws.s3.head_bucket(Bucket=f"{PROD}-storage")
    markdown = cli("report", "latest", "--format", "markdown", check=0).stdout
    assert sha[:7] in markdown
    cli("audit", "verify", check=0)
