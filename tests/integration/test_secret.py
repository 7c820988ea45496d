"""The Secret reconciler against moto: metadata and tags only, never a value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from controller.aws.context import Context
from controller.errors import TerminalError
from controller.kinds.document import Document
from controller.kinds.tags import to_list
from controller.model import Resource
from reconcilers.environment import identity
from reconcilers.environment.view import StackView
from reconcilers.secret import Secret
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.kind_passes import (
    HAND_TAGS,
    after_lost_state,
    assert_tags_repaired,
    create_one,
    noop_calls,
)

NAME = "acme/prod/azure-openai-key"
LOGICAL_ID = f"acme-prod/secrets/{NAME}"
SPEC_FILE = Path(__file__).resolve().parents[2] / "specs" / "acme-prod.yaml"
VALUE_CALLS = ("GetSecretValue", "PutSecretValue", "BatchGetSecretValue")


def desired() -> Resource:
    doc = Document(file="specs/acme-prod.yaml", body=yaml.safe_load(SPEC_FILE.read_text()))
    [secret] = [r for r in identity.expand(StackView(doc)) if r.kind == "Secret"]
    return secret


def sm() -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


def tags_of(name: str = NAME) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sm().describe_secret(SecretId=name).get("Tags", [])}


@pytest.fixture
def created(ctx: Context) -> Resource:
    return create_one(Secret(), desired(), ctx)


def test_create_sets_name_description_and_tags_and_no_value(created: Resource) -> None:
    described = sm().describe_secret(SecretId=NAME)
    assert described["Name"] == NAME
    assert described["Description"] == "Secret of acme-prod; its value is set outside plumb"
    assert tags_of() == created.ownership_tags()
    assert not described.get("VersionIdsToStages")
    assert sm().list_secret_version_ids(SecretId=NAME)["Versions"] == []


def test_a_secret_without_value_warns_how_to_set_it(ctx: Context, created: Resource) -> None:
    rec = Secret()
    [warning] = rec.warnings(created, rec.observe([created], ctx)[LOGICAL_ID])
    assert warning.startswith(
        f"secret {NAME} has no value yet; set it with `aws secretsmanager put-secret-value"
    )
    assert f"--secret-id {NAME}" in warning
    assert rec.warnings(created, None) == [warning]  # not yet created


def test_a_secret_with_a_value_set_out_of_band_does_not_warn(
    ctx: Context, created: Resource
) -> None:
    sm().put_secret_value(SecretId=NAME, SecretString="set-by-its-owner")
    rec = Secret()
    observed = rec.observe([created], ctx)[LOGICAL_ID]
    assert rec.warnings(created, observed) == []
    assert "set-by-its-owner" not in repr(observed)
    assert reconcile_once(rec, [created], ctx)[0] == {LOGICAL_ID: "noop"}


def test_second_run_is_noop_with_no_writes_and_one_read(ctx: Context, created: Resource) -> None:
    writes, reads = noop_calls(Secret(), created, ctx)
    assert (writes, reads) == (0, {"secretsmanager:ListSecrets": 1})
    assert reconcile_once(Secret(), [created], ctx)[0] == {LOGICAL_ID: "noop"}


def test_changed_tags_are_repaired(ctx: Context, created: Resource) -> None:
    sm().tag_resource(SecretId=NAME, Tags=to_list(HAND_TAGS))

    assert_tags_repaired(Secret(), created, ctx, "secretsmanager")
    assert tags_of() == created.ownership_tags()


def test_changed_description_is_repaired_without_a_new_version(
    ctx: Context, created: Resource
) -> None:
    sm().update_secret(SecretId=NAME, Description="edited by hand")
    reconcile_once(Secret(), [created], ctx)
    assert sm().describe_secret(SecretId=NAME)["Description"] == created.spec["description"]
    assert sm().list_secret_version_ids(SecretId=NAME)["Versions"] == []


def test_delete_schedules_deletion_with_a_recovery_window(ctx: Context, created: Resource) -> None:
    rec = Secret()
    rec.delete(rec.observe([created], ctx)[LOGICAL_ID], ctx)

    described = sm().describe_secret(SecretId=NAME)  # still there: recoverable for 7 days
    assert described["DeletedDate"]
    assert (described["DeletedDate"] - described["LastChangedDate"]).days >= 6
    assert rec.observe([created], ctx) == {}  # absent for plumb


def test_re_adding_a_secret_plumb_deleted_restores_it(ctx: Context, created: Resource) -> None:
    sm().put_secret_value(SecretId=NAME, SecretString="kept")
    rec = Secret()
    arn = rec.observe([created], ctx)[LOGICAL_ID].attrs["arn"]
    rec.delete(rec.observe([created], ctx)[LOGICAL_ID], ctx)

    actions, observed = reconcile_once(Secret(), [created], ctx)

    assert actions == {LOGICAL_ID: "create"}
    described = sm().describe_secret(SecretId=NAME)
    assert "DeletedDate" not in described and described["ARN"] == arn
    assert observed[LOGICAL_ID].attrs["hasValue"] is True
    assert reconcile_once(Secret(), [created], ctx)[0] == {LOGICAL_ID: "noop"}


def test_same_named_secret_without_our_tags_is_not_owned_and_untouched(ctx: Context) -> None:
    sm().create_secret(Name=NAME, Description="theirs", Tags=[{"Key": "team", "Value": "x"}])
    res = desired()

    writes, reads = count_calls(ctx, lambda: Secret().observe([res], ctx))
    observed = Secret().observe([res], ctx)[LOGICAL_ID]

    assert writes == 0
    assert reads == {"secretsmanager:ListSecrets": 1, "secretsmanager:DescribeSecret": 1}
    assert observed.owned is False
    assert Secret().warnings(res, observed) == []
    assert tags_of() == {"team": "x"}
    assert sm().describe_secret(SecretId=NAME)["Description"] == "theirs"


def test_someone_elses_secret_scheduled_for_deletion_is_not_restored(ctx: Context) -> None:
    sm().create_secret(Name=NAME, Tags=[{"Key": "team", "Value": "x"}])
    sm().delete_secret(SecretId=NAME, RecoveryWindowInDays=7)
    res = desired()

    assert Secret().observe([res], ctx)[LOGICAL_ID].owned is False
    with pytest.raises(TerminalError, match="scheduled for deletion"):
        Secret().create(res, ctx)
    assert sm().describe_secret(SecretId=NAME)["DeletedDate"]


def test_losing_state_finds_the_secret_by_its_tags_and_creates_nothing(created: Resource) -> None:
    observed = after_lost_state(Secret(), [created])
    attrs = observed[LOGICAL_ID].attrs
    assert (attrs["id"], attrs["name"]) == (NAME, NAME)
    assert attrs["arn"].startswith(f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{NAME}-")
    assert [s["Name"] for s in sm().list_secrets()["SecretList"]] == [NAME]


def test_plumb_never_reads_or_writes_a_secret_value(ctx: Context, created: Resource) -> None:
    sm().put_secret_value(SecretId=NAME, SecretString="set-by-its-owner")
    sm().tag_resource(SecretId=NAME, Tags=[{"Key": "CostCenter", "Value": "0"}])
    rec = Secret()
    reconcile_once(rec, [created], ctx)
    rec.delete(rec.observe([created], ctx)[LOGICAL_ID], ctx)
    reconcile_once(rec, [created], ctx)
    calls = ctx.clients.counter.snapshot()["byOperation"]
    assert not [op for op in calls if op.split(":")[1] in VALUE_CALLS]
