"""The storage and identity sections expand into a Bucket, a task Role and Secrets."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from controller.kinds.document import Document
from controller.kinds.fields import schema_for
from controller.model import Resource
from reconcilers.environment import identity, storage
from reconcilers.environment.view import ACCOUNT_ID, StackView, join
from tests.conftest import placeholders

SPECS = Path(__file__).resolve().parents[2] / "specs"
PROFILE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


def load(name: str, edit: Any = None) -> StackView:
    body = yaml.safe_load((SPECS / name).read_text())
    if edit is not None:
        edit(body["spec"])
    return StackView(Document(file=f"specs/{name}", body=body))


def expand(view: StackView) -> dict[str, Resource]:
    return {r.logical_id: r for r in [*storage.expand(view), *identity.expand(view)]}


def task_role(view: StackView) -> Resource:
    return expand(view)["acme-prod/identity/task-role"]


# -- the Bedrock policy ---------------------------------------------------------------


def test_bedrock_policy_grants_exactly_the_listed_models_and_profile_regions() -> None:
    policy = task_role(load("acme-prod.yaml")).spec["inlinePolicies"]["bedrock-invoke"]
    [statement] = policy["Statement"]
    fm = "arn:aws:bedrock:{}::foundation-model/{}"
    assert statement["Resource"] == [
        fm.format("us-east-1", "amazon.titan-embed-text-v2:0"),
        fm.format("us-east-1", "anthropic.claude-3-5-haiku-20241022-v1:0"),
        fm.format("us-east-1", "anthropic.claude-3-haiku-20240307-v1:0"),
        join("arn:aws:bedrock:us-east-1:", ACCOUNT_ID, f":inference-profile/{PROFILE}"),
        fm.format("us-east-2", "anthropic.claude-3-5-haiku-20241022-v1:0"),
        fm.format("us-west-2", "anthropic.claude-3-5-haiku-20241022-v1:0"),
    ]
    assert statement["Effect"] == "Allow"


def test_bedrock_policy_allows_exactly_the_two_invoke_actions() -> None:
    policy = task_role(load("acme-prod.yaml")).spec["inlinePolicies"]["bedrock-invoke"]
    assert policy["Statement"][0]["Action"] == [
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
    ]


def test_bedrock_policy_has_no_wildcard_anywhere() -> None:
    role = task_role(load("acme-prod.yaml"))
    assert "*" not in json.dumps(role.spec["inlinePolicies"]["bedrock-invoke"])


def test_task_role_may_invoke_the_models_and_use_the_stacks_bucket_only() -> None:
    policies = task_role(load("acme-prod.yaml")).spec["inlinePolicies"]
    assert sorted(policies) == ["bedrock-invoke", "storage-objects"]
    objects, listing = policies["storage-objects"]["Statement"]
    assert objects["Action"] == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert objects["Resource"] == ["arn:aws:s3:::acme-prod-storage/*"]
    assert (listing["Action"], listing["Resource"]) == (
        ["s3:ListBucket"],
        ["arn:aws:s3:::acme-prod-storage"],
    )


def test_execution_role_reads_exactly_the_task_secrets() -> None:
    role = expand(load("acme-prod.yaml"))["acme-prod/identity/execution-role"]
    statements = {s["Sid"]: s for s in role.spec["inlinePolicies"]["start-task"]["Statement"]}
    assert statements["ReadTaskSecrets"]["Resource"] == [
        {"ref": "secrets/acme/prod/azure-openai-key", "attr": "arn"},
        {"ref": "data/docdb", "attr": "masterSecretArn"},
    ]
    assert statements["PullImage"]["Resource"] == [{"ref": "app/repository", "attr": "arn"}]
    assert statements["EcrLogin"]["Resource"] == ["*"]  # IAM has no narrower resource


def test_a_model_listed_twice_or_also_reached_by_a_profile_is_granted_once() -> None:
    def twice(spec: dict[str, Any]) -> None:
        spec["models"]["bedrock"]["models"] = [
            PROFILE,
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            PROFILE,
        ]

    resources = task_role(load("acme-prod.yaml", twice)).spec["inlinePolicies"]["bedrock-invoke"][
        "Statement"
    ][0]["Resource"]
    keys = [json.dumps(r, sort_keys=True) for r in resources]
    assert len(keys) == len(set(keys)) == 4  # profile + us-east-1, us-east-2, us-west-2


def test_staging_without_profiles_grants_only_its_one_model_in_region() -> None:
    view = load("acme-staging.yaml")
    role = expand(view)["acme-staging/identity/task-role"]
    statement = role.spec["inlinePolicies"]["bedrock-invoke"]["Statement"][0]
    assert statement["Resource"] == [
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    ]


# -- the task role --------------------------------------------------------------------


def test_task_role_is_named_for_the_stack_under_plumb_path_and_trusts_ecs_tasks() -> None:
    spec = task_role(load("acme-prod.yaml")).spec
    assert (spec["roleName"], spec["path"]) == ("acme-prod-task", "/plumb/")
    [trust] = spec["assumeRolePolicy"]["Statement"]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": join(ACCOUNT_ID)}}


CASES = [
    pytest.param(("models",), True, {"storage-objects"}, id="service alone: its bucket only"),
    pytest.param(("service",), True, {"bedrock-invoke"}, id="models alone still need the role"),
    pytest.param(("service", "models"), False, None, id="neither section: no role"),
]


@pytest.mark.parametrize(("dropped", "has_role", "policies"), CASES)
def test_task_role_exists_when_service_or_models_is_present(
    dropped: tuple[str, ...], has_role: bool, policies: set[str] | None
) -> None:
    view = load("acme-prod.yaml", lambda spec: [spec.pop(s) for s in dropped])
    role = expand(view).get("acme-prod/identity/task-role")
    assert (role is not None) == has_role
    if role is not None:
        assert set(role.spec["inlinePolicies"]) == set(policies or ())


# -- secrets --------------------------------------------------------------------------


def test_a_secret_named_twice_is_one_secret() -> None:
    secrets = [r for r in expand(load("acme-prod.yaml")).values() if r.kind == "Secret"]
    assert [(r.logical_id, r.spec["name"]) for r in secrets] == [
        ("acme-prod/secrets/acme/prod/azure-openai-key", "acme/prod/azure-openai-key")
    ]


def test_each_distinct_secret_name_is_its_own_secret() -> None:
    def more(spec: dict[str, Any]) -> None:
        spec["service"]["secrets"] = {"A": "acme/prod/a", "B": "acme/prod/b", "C": "acme/prod/a"}

    secrets = [r for r in expand(load("acme-prod.yaml", more)).values() if r.kind == "Secret"]
    assert sorted(r.spec["name"] for r in secrets) == [
        "acme/prod/a",
        "acme/prod/azure-openai-key",
        "acme/prod/b",
    ]


def test_secret_spec_names_no_value() -> None:
    for res in expand(load("acme-prod.yaml")).values():
        if res.kind == "Secret":
            assert set(res.spec) == {"name", "description"}


# -- the bucket -----------------------------------------------------------------------


def test_bucket_is_named_for_product_and_env_with_every_protection() -> None:
    bucket = expand(load("acme-prod.yaml"))["acme-prod/storage/bucket"]
    assert bucket.spec["bucketName"] == "acme-prod-storage"
    assert bucket.spec["encryption"] == {"algorithm": "AES256"}
    assert set(bucket.spec["publicAccessBlock"].values()) == {True}
    assert len(bucket.spec["publicAccessBlock"]) == 4
    assert bucket.spec["lifecycle"] == {"expireAfterDays": 90}
    assert bucket.deletion_policy == "Retain"


def test_bucket_policy_denies_everything_without_tls() -> None:
    bucket = expand(load("acme-prod.yaml"))["acme-prod/storage/bucket"]
    [deny] = bucket.spec["policy"]["Statement"]
    assert (deny["Effect"], deny["Action"]) == ("Deny", "s3:*")
    arn = "arn:aws:s3:::acme-prod-storage"
    assert deny["Resource"] == [arn, f"{arn}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_staging_bucket_takes_its_days_and_deletion_policy() -> None:
    bucket = expand(load("acme-staging.yaml"))["acme-staging/storage/bucket"]
    assert bucket.spec["lifecycle"] == {"expireAfterDays": 30}
    assert bucket.deletion_policy == "Delete"


def test_no_storage_section_builds_no_bucket() -> None:
    view = load("acme-prod.yaml", lambda spec: spec.pop("storage"))
    assert not [r for r in expand(view).values() if r.kind == "Bucket"]


# -- schemas --------------------------------------------------------------------------


@pytest.mark.parametrize("spec_file", ["acme-prod.yaml", "acme-staging.yaml"])
def test_every_expanded_spec_validates_against_its_kind_schema(spec_file: str) -> None:
    resources = list(expand(load(spec_file)).values())
    assert {r.kind for r in resources} == {"Bucket", "Role", "Secret"}
    for res in resources:
        schema = schema_for(res.kind)
        Draft202012Validator.check_schema(schema)
        errors = list(Draft202012Validator(schema).iter_errors(placeholders(res.spec)))
        assert not errors, f"{res.logical_id}: {[e.message for e in errors]}"


@pytest.mark.parametrize("kind", ["Bucket", "Role", "Secret"])
def test_schema_refuses_fields_it_does_not_know(kind: str) -> None:
    resources = [r for r in expand(load("acme-prod.yaml")).values() if r.kind == kind]
    spec = copy.deepcopy(placeholders(resources[0].spec))
    spec["secretString"] = "hunter2"
    assert not Draft202012Validator(schema_for(kind)).is_valid(spec)
