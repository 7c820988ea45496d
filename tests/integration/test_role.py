"""The Role reconciler against moto: the ECS task role, its Bedrock policy, and privilege creep."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.engine.graph import resolve
from controller.kinds.diff import diff
from controller.kinds.document import Document
from controller.model import Resource
from reconcilers.environment import identity
from reconcilers.environment.view import StackView
from reconcilers.role import Role
from tests.conformance.role import TRUST as ECS_TASKS
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.kind_passes import after_lost_state, create_one, noop_calls, repair_calls

NAME = "acme-prod-task"
LOGICAL_ID = "acme-prod/identity/task-role"
ACCOUNT = "123456789012"  # moto's account
SPEC_FILE = Path(__file__).resolve().parents[2] / "specs" / "acme-prod.yaml"
# The task role trusts ECS tasks of its own account alone.
ACCOUNT_ONLY = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
TRUST = {**ECS_TASKS, "Statement": [{**ECS_TASKS["Statement"][0], "Condition": ACCOUNT_ONLY}]}
FM = "arn:aws:bedrock:{}::foundation-model/{}"
BEDROCK_RESOURCES = sorted(
    [
        FM.format("us-east-1", "anthropic.claude-3-haiku-20240307-v1:0"),
        FM.format("us-east-1", "amazon.titan-embed-text-v2:0"),
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0",
        *(
            FM.format(r, "anthropic.claude-3-5-haiku-20241022-v1:0")
            for r in ("us-east-1", "us-east-2", "us-west-2")
        ),
    ]
)


def desired() -> Resource:
    """The task role as the example spec expands it, with the account id resolved."""
    doc = Document(file="specs/acme-prod.yaml", body=yaml.safe_load(SPEC_FILE.read_text()))
    [role] = [r for r in identity.expand(StackView(doc)) if r.logical_id == LOGICAL_ID]
    return resolve(role, lambda _: None, lambda: ACCOUNT)


def iam() -> Any:
    return boto3.client("iam", region_name=REGION)


def inline(name: str = NAME) -> dict[str, Any]:
    client = iam()
    return {
        p: client.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
        for p in client.list_role_policies(RoleName=name)["PolicyNames"]
    }


@pytest.fixture
def created(ctx: Context) -> Resource:
    return create_one(Role(), desired(), ctx)


def test_create_sets_path_trust_description_tags_and_bedrock_policy(created: Resource) -> None:
    role = iam().get_role(RoleName=NAME)["Role"]
    assert role["Path"] == "/plumb/"
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/plumb/{NAME}"
    assert role["AssumeRolePolicyDocument"] == TRUST
    assert role["Description"] == "ECS task role of acme-prod, managed by plumb"
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == created.ownership_tags()
    [statement] = inline()["bedrock-invoke"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert sorted(statement["Resource"]) == BEDROCK_RESOURCES
    assert sorted(inline()) == ["bedrock-invoke", "storage-objects"]
    assert iam().list_attached_role_policies(RoleName=NAME)["AttachedPolicies"] == []


def test_second_run_is_noop_with_no_writes_and_two_reads(ctx: Context, created: Resource) -> None:
    writes, reads = noop_calls(Role(), created, ctx)
    assert writes == 0
    # Trust policy and description from the listing; tags and both inline policies from
    # the account's details: no read per role or per policy.
    assert reads == {"iam:ListRoles": 1, "iam:GetAccountAuthorizationDetails": 1}
    assert reconcile_once(Role(), [created], ctx)[0] == {LOGICAL_ID: "noop"}


def _extra_action(client: Any) -> None:
    doc = inline()["bedrock-invoke"]
    doc["Statement"][0]["Action"].append("bedrock:CreateModelCustomizationJob")
    client.put_role_policy(
        RoleName=NAME, PolicyName="bedrock-invoke", PolicyDocument=json.dumps(doc)
    )


def _extra_policy(client: Any) -> None:
    admin = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    client.put_role_policy(
        RoleName=NAME, PolicyName="added-by-hand", PolicyDocument=json.dumps(admin)
    )


CREEP = [
    pytest.param(
        _extra_action,
        "inlinePolicies.bedrock-invoke",
        "PutRolePolicy",
        id="an extra action in the bedrock policy",
    ),
    pytest.param(
        _extra_policy,
        "inlinePolicies.added-by-hand",
        "DeleteRolePolicy",
        id="an extra inline policy added by hand",
    ),
    pytest.param(
        lambda c: c.update_assume_role_policy(
            RoleName=NAME,
            PolicyDocument=json.dumps(
                {
                    **TRUST,
                    "Statement": [
                        {**TRUST["Statement"][0], "Principal": {"Service": "ec2.amazonaws.com"}}
                    ],
                }
            ),
        ),
        "assumeRolePolicy",
        "UpdateAssumeRolePolicy",
        id="trust policy changed",
    ),
    pytest.param(
        lambda c: c.update_role(RoleName=NAME, Description="hand"),
        "description",
        "UpdateRole",
        id="description changed",
    ),
    pytest.param(
        lambda c: c.untag_role(RoleName=NAME, TagKeys=["CostCenter"]),
        "tags",
        "TagRole",
        id="a user tag removed",
    ),
]


@pytest.mark.parametrize(("creep", "path", "write"), CREEP)
def test_drift_is_found_and_repaired_with_one_write(
    ctx: Context, created: Resource, creep: Callable[[Any], None], path: str, write: str
) -> None:
    creep(iam())

    writes, calls = repair_calls(Role(), created, ctx, path)

    assert writes == 1 and calls[f"iam:{write}"] == 1
    policies = inline()
    assert sorted(policies) == ["bedrock-invoke", "storage-objects"]
    [statement] = policies["bedrock-invoke"]["Statement"]
    assert statement["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert sorted(statement["Resource"]) == BEDROCK_RESOURCES
    role = iam().get_role(RoleName=NAME)["Role"]
    assert role["AssumeRolePolicyDocument"] == TRUST
    assert role["Description"] == created.spec["description"]
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == created.ownership_tags()


def _managed(arns: list[str]) -> Resource:
    res = desired()
    return res.with_spec({**res.spec, "managedPolicyArns": arns})


def _policy(name: str) -> str:
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}],
    }
    out = iam().create_policy(PolicyName=name, PolicyDocument=json.dumps(doc))
    return str(out["Policy"]["Arn"])


def test_managed_policies_are_a_set_attached_and_detached_to_match(ctx: Context) -> None:
    wanted, extra = _policy("wanted"), _policy("extra")
    res = _managed([wanted])
    reconcile_once(Role(), [res], ctx)
    iam().attach_role_policy(RoleName=NAME, PolicyArn=extra)

    assert diff(res, Role().observe([res], ctx)[LOGICAL_ID]).paths == ["managedPolicyArns"]
    reconcile_once(Role(), [res], ctx)

    attached = iam().list_attached_role_policies(RoleName=NAME)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [wanted]


def test_delete_removes_inline_and_managed_policies_then_the_role(ctx: Context) -> None:
    res = _managed([_policy("wanted")])
    reconcile_once(Role(), [res], ctx)
    _extra_policy(iam())
    rec = Role()

    rec.delete(rec.observe([res], ctx)[LOGICAL_ID], ctx)

    with pytest.raises(ClientError) as err:
        iam().get_role(RoleName=NAME)
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"
    assert rec.observe([res], ctx) == {}


FOREIGN = [
    pytest.param("/plumb/", [{"Key": "team", "Value": "x"}], id="under /plumb/ without our tags"),
    pytest.param(
        "/",
        [{"Key": "plumb:stack", "Value": "acme-prod"}, {"Key": "plumb:id", "Value": LOGICAL_ID}],
        id="our tags but outside /plumb/",
    ),
    pytest.param(
        "/plumb/",
        [
            {"Key": "plumb:stack", "Value": "other-prod"},
            {"Key": "plumb:id", "Value": "other-prod/identity/task-role"},
        ],
        id="tagged by a stack out of scope",
    ),
]


@pytest.mark.parametrize(("path", "tags"), FOREIGN)
def test_same_named_role_not_ours_is_reported_and_never_modified(
    ctx: Context, path: str, tags: list[dict[str, str]]
) -> None:
    iam().create_role(
        RoleName=NAME, Path=path, AssumeRolePolicyDocument=json.dumps(TRUST), Tags=tags
    )
    res = desired()

    writes, _ = count_calls(ctx, lambda: Role().observe([res], ctx))
    observed = Role().observe([res], ctx)

    assert writes == 0
    assert observed[LOGICAL_ID].owned is False
    assert inline() == {}
    assert iam().get_role(RoleName=NAME)["Role"]["Tags"] == tags


def test_losing_state_finds_the_role_by_its_tags_and_creates_nothing(created: Resource) -> None:
    observed = after_lost_state(Role(), [created])
    attrs = observed[LOGICAL_ID].attrs
    assert (attrs["id"], attrs["name"]) == (NAME, NAME)
    assert attrs["arn"] == f"arn:aws:iam::{ACCOUNT}:role/plumb/{NAME}"
    assert [r["RoleName"] for r in iam().list_roles(PathPrefix="/plumb/")["Roles"]] == [NAME]


def test_orphan_role_of_a_stack_in_scope_is_observed_for_prune(
    ctx: Context, created: Resource
) -> None:
    iam().create_role(
        RoleName="someone-elses", Path="/plumb/", AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    writes, reads = count_calls(ctx, lambda: Role().observe([], ctx))
    observed = Role().observe([], ctx)
    assert list(observed) == [LOGICAL_ID] and observed[LOGICAL_ID].owned
    # Two reads for every role, however many: no per-role call for orphans or strangers.
    assert (writes, reads) == (0, {"iam:ListRoles": 1, "iam:GetAccountAuthorizationDetails": 1})
