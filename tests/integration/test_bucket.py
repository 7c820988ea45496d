"""The Bucket reconciler against moto: create, read back, no-op, drift repair, delete, ownership."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from controller.aws.clients import ClientFactory
from controller.aws.context import Context
from controller.kinds.diff import diff
from controller.kinds.document import Document
from controller.model import Resource
from reconcilers.bucket import Bucket
from reconcilers.environment import storage
from reconcilers.environment.view import StackView
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.kind_passes import (
    HAND_TAGS,
    after_lost_state,
    create_one,
    noop_calls,
    repair_calls,
)

NAME = "acme-prod-storage"
LOGICAL_ID = "acme-prod/storage/bucket"
SPEC_FILE = Path(__file__).resolve().parents[2] / "specs" / "acme-prod.yaml"


def desired() -> Resource:
    doc = Document(file="specs/acme-prod.yaml", body=yaml.safe_load(SPEC_FILE.read_text()))
    [bucket] = storage.expand(StackView(doc))
    return bucket


def s3() -> Any:
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def created(ctx: Context) -> Resource:
    return create_one(Bucket(), desired(), ctx)


def test_create_sets_every_managed_setting(created: Resource) -> None:
    client = s3()
    tags = {t["Key"]: t["Value"] for t in client.get_bucket_tagging(Bucket=NAME)["TagSet"]}
    assert tags == {
        "CostCenter": "4711",
        "Owner": "platform@acme.example",
        "plumb:stack": "acme-prod",
        "plumb:id": LOGICAL_ID,
        "plumb:deletion-policy": "Retain",
    }
    assert tags == created.ownership_tags()
    rules = client.get_bucket_encryption(Bucket=NAME)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert client.get_public_access_block(Bucket=NAME)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    [rule] = client.get_bucket_lifecycle_configuration(Bucket=NAME)["Rules"]
    assert rule == {
        "ID": "plumb-expire",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "Expiration": {"Days": 90},
    }
    [deny] = json.loads(client.get_bucket_policy(Bucket=NAME)["Policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*"
    assert deny["Resource"] == [f"arn:aws:s3:::{NAME}", f"arn:aws:s3:::{NAME}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert client.get_bucket_location(Bucket=NAME)["LocationConstraint"] is None  # us-east-1


def test_create_outside_us_east_1_sends_location_constraint(clients: ClientFactory) -> None:
    ctx = Context(clients, "eu-west-1", {"acme-prod"})
    reconcile_once(Bucket(), [desired()], ctx)
    location = boto3.client("s3", region_name="eu-west-1").get_bucket_location(Bucket=NAME)
    assert location["LocationConstraint"] == "eu-west-1"


def test_second_run_is_noop_with_no_writes_and_six_reads(ctx: Context, created: Resource) -> None:
    writes, reads = noop_calls(Bucket(), created, ctx)
    assert writes == 0
    assert reads == {
        "s3:ListBuckets": 1,
        "s3:GetBucketTagging": 1,
        "s3:GetBucketEncryption": 1,
        "s3:GetPublicAccessBlock": 1,
        "s3:GetBucketLifecycleConfiguration": 1,
        "s3:GetBucketPolicy": 1,
    }
    actions, _ = reconcile_once(Bucket(), [created], ctx)
    assert actions == {LOGICAL_ID: "noop"}


def _expiry_rule(prefix: str, days: int) -> Callable[[Any], None]:
    """The drift of plumb's expiry rule rewritten by hand to expire `prefix` after `days`."""

    def rewrite(c: Any) -> None:
        rule = {
            "ID": "plumb-expire",
            "Filter": {"Prefix": prefix},
            "Status": "Enabled",
            "Expiration": {"Days": days},
        }
        c.put_bucket_lifecycle_configuration(Bucket=NAME, LifecycleConfiguration={"Rules": [rule]})

    return rewrite


def _public_policy_allowed(c: Any) -> None:
    c.put_public_access_block(
        Bucket=NAME,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )


def _cost_center_changed(c: Any) -> None:
    tags = {**desired().ownership_tags(), **HAND_TAGS}
    c.put_bucket_tagging(
        Bucket=NAME, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
    )


DRIFT = [
    pytest.param(
        _expiry_rule("", 7),
        "lifecycle.expireAfterDays",
        "PutBucketLifecycleConfiguration",
        id="lifecycle days changed out of band",
    ),
    pytest.param(
        _expiry_rule("logs/", 90),
        "lifecycle.expireAfterDays",
        "PutBucketLifecycleConfiguration",
        id="expiry rule narrowed to a prefix",
    ),
    pytest.param(
        _public_policy_allowed,
        "publicAccessBlock.blockPublicPolicy",
        "PutPublicAccessBlock",
        id="one public access block setting turned off",
    ),
    pytest.param(
        lambda c: c.delete_bucket_encryption(Bucket=NAME),
        "encryption.algorithm",
        "PutBucketEncryption",
        id="encryption removed",
    ),
    pytest.param(
        lambda c: c.delete_bucket_policy(Bucket=NAME),
        "policy",
        "PutBucketPolicy",
        id="policy removed",
    ),
    pytest.param(
        _cost_center_changed,
        "tags",
        "PutBucketTagging",
        id="a user tag changed and one added by hand",
    ),
]


@pytest.mark.parametrize(("drift", "path", "write"), DRIFT)
def test_drift_is_found_and_repaired_with_one_write(
    ctx: Context, created: Resource, drift: Callable[[Any], None], path: str, write: str
) -> None:
    drift(s3())

    writes, calls = repair_calls(Bucket(), created, ctx, path)

    assert writes == 1 and calls[f"s3:{write}"] == 1
    client = s3()
    [rule] = client.get_bucket_lifecycle_configuration(Bucket=NAME)["Rules"]
    assert (rule["Filter"], rule["Expiration"]) == ({"Prefix": ""}, {"Days": 90})
    assert all(
        client.get_public_access_block(Bucket=NAME)["PublicAccessBlockConfiguration"].values()
    )
    assert client.get_bucket_encryption(Bucket=NAME)["ServerSideEncryptionConfiguration"]
    assert json.loads(client.get_bucket_policy(Bucket=NAME)["Policy"]) == created.spec["policy"]
    tags = {t["Key"]: t["Value"] for t in client.get_bucket_tagging(Bucket=NAME)["TagSet"]}
    assert tags == created.ownership_tags()


def test_a_lifecycle_rule_added_by_hand_is_drift_and_removed(
    ctx: Context, created: Resource
) -> None:
    # Expiring the whole bucket after 7 days breaks the spec's promise of 90.
    sooner = {
        "ID": "hand-7",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "Expiration": {"Days": 7},
    }
    ours = s3().get_bucket_lifecycle_configuration(Bucket=NAME)["Rules"]
    s3().put_bucket_lifecycle_configuration(
        Bucket=NAME, LifecycleConfiguration={"Rules": [*ours, sooner]}
    )

    found = Bucket().observe([created], ctx)[LOGICAL_ID]
    delta = diff(created, found)
    assert [(c.path, c.before, c.after) for c in delta.changes] == [
        ("lifecycle.otherRules", ["hand-7 (Enabled: expires after 7 days)"], None)
    ]
    writes, ops = count_calls(ctx, lambda: Bucket().update(created, found, delta, ctx))

    assert ops.get("s3:PutBucketLifecycleConfiguration") == 1 and writes == 1
    [rule] = s3().get_bucket_lifecycle_configuration(Bucket=NAME)["Rules"]
    assert (rule["ID"], rule["Expiration"]) == ("plumb-expire", {"Days": 90})


def test_delete_removes_an_empty_bucket(ctx: Context, created: Resource) -> None:
    rec = Bucket()
    rec.delete(rec.observe([created], ctx)[LOGICAL_ID], ctx)
    with pytest.raises(ClientError) as err:
        s3().head_bucket(Bucket=NAME)
    assert err.value.response["Error"]["Code"] == "404"
    assert rec.observe([created], ctx) == {}


def test_delete_never_empties_a_bucket_holding_objects(ctx: Context, created: Resource) -> None:
    # moto applies the TLS-only policy to its own in-process requests (403), so the test
    # lifts the policy to put an object.
    s3().delete_bucket_policy(Bucket=NAME)
    s3().put_object(Bucket=NAME, Key="report.csv", Body=b"data")
    rec = Bucket()
    observed = rec.observe([created], ctx)[LOGICAL_ID]
    with pytest.raises(ClientError) as err:
        rec.delete(observed, ctx)
    assert err.value.response["Error"]["Code"] == "BucketNotEmpty"
    assert rec.classify(err.value).code == "BucketNotEmpty"
    assert type(rec.classify(err.value)).__name__ == "TerminalError"
    assert s3().get_object(Bucket=NAME, Key="report.csv")["Body"].read() == b"data"


def test_same_named_bucket_without_our_tags_is_not_owned_and_untouched(ctx: Context) -> None:
    s3().create_bucket(Bucket=NAME)
    s3().put_bucket_tagging(Bucket=NAME, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
    res = desired()

    writes, _ = count_calls(ctx, lambda: Bucket().observe([res], ctx))
    observed = Bucket().observe([res], ctx)[LOGICAL_ID]

    assert writes == 0
    assert observed.owned is False and observed.physical_id == NAME
    assert s3().get_bucket_tagging(Bucket=NAME)["TagSet"] == [{"Key": "team", "Value": "x"}]
    with pytest.raises(ClientError):
        s3().get_bucket_policy(Bucket=NAME)


def test_bucket_of_a_stack_out_of_scope_is_not_ours(ctx: Context, created: Resource) -> None:
    other = Context(ctx.clients, REGION, {"acme-staging"})
    observed = Bucket().observe([created], other)
    assert observed[LOGICAL_ID].owned is False


def test_orphan_of_a_stack_in_scope_is_observed_without_sub_resource_reads(
    ctx: Context, created: Resource
) -> None:
    s3().create_bucket(Bucket="unrelated-bucket")
    writes, reads = count_calls(ctx, lambda: Bucket().observe([], ctx))
    observed = Bucket().observe([], ctx)
    assert list(observed) == [LOGICAL_ID] and observed[LOGICAL_ID].owned
    # Only the bucket whose name starts with a stack in scope has its tags read.
    assert (writes, reads) == (0, {"s3:ListBuckets": 1, "s3:GetBucketTagging": 1})


def test_losing_state_finds_the_bucket_by_its_tags_and_creates_nothing(created: Resource) -> None:
    observed = after_lost_state(Bucket(), [created])
    assert observed[LOGICAL_ID].attrs == {
        "id": NAME,
        "name": NAME,
        "arn": f"arn:aws:s3:::{NAME}",
        "regionalDomainName": f"{NAME}.s3.us-east-1.amazonaws.com",
    }
    assert [b["Name"] for b in s3().list_buckets()["Buckets"]] == [NAME]
