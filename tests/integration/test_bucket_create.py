"""A bucket create meeting a bucket of its name: someone else's is refused, its own adopted.

In us-east-1 S3 answers CreateBucket on a bucket the account already holds with success
(elsewhere BucketAlreadyOwnedByYou), so Bucket.create reads the name's tags first: a bucket
without this resource's tags is refused for good and left as it was; one whose CreateBucket
answer this very create attempt lost is its own, and is tagged rather than refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from controller.aws.clients import ClientFactory
from controller.aws.context import Context
from controller.aws.retry_guard import AmbiguousWrite, create_attempt
from controller.cli.verbs import load_desired
from controller.engine.plan import PlanOptions
from controller.errors import TerminalError
from controller.kinds.errors import error_code
from controller.kinds.tags import to_dict
from reconcilers.bucket import Bucket
from tests.conftest import REGION, count_calls
from tests.integration.sqlite_runner import sqlite_runner
from tests.integration.test_bucket import LOGICAL_ID, NAME, desired
from tests.integration.test_lost_answer import losing

ROOT = Path(__file__).resolve().parents[2]
REGIONS = [REGION, "eu-west-1"]  # success on a held name, and BucketAlreadyOwnedByYou


def s3(region: str = REGION) -> Any:
    return boto3.client("s3", region_name=region)


def tags_of(name: str, region: str = REGION) -> dict[str, str]:
    try:
        return to_dict(s3(region).get_bucket_tagging(Bucket=name)["TagSet"])
    except ClientError as err:
        assert error_code(err) == "NoSuchTagSet", err
        return {}


def policy_of(name: str, region: str = REGION) -> str | None:
    try:
        return str(s3(region).get_bucket_policy(Bucket=name)["Policy"])
    except ClientError as err:
        assert error_code(err) == "NoSuchBucketPolicy", err
        return None


def test_a_create_reads_the_name_once_before_creating(ctx: Context) -> None:
    writes, ops = count_calls(ctx, lambda: Bucket().create(desired(), ctx))
    reads = {op: n for op, n in ops.items() if op.split(":")[1].startswith(("Get", "List"))}
    assert reads == {"s3:GetBucketTagging": 1}, "one read more than the writes, no more"
    assert ops["s3:CreateBucket"] == 1 and writes == 6  # create, tags and four settings


@pytest.mark.parametrize("region", REGIONS)
def test_a_create_meeting_another_stacks_bucket_refuses_it(
    clients: ClientFactory, region: str
) -> None:
    """Tagged by plumb, but for another stack: not this resource's either."""
    location = {} if region == REGION else {"LocationConstraint": region}
    s3(region).create_bucket(Bucket=NAME, CreateBucketConfiguration=location)
    theirs = [{"Key": "plumb:stack", "Value": "acme-other"}, {"Key": "plumb:id", "Value": "x/y"}]
    s3(region).put_bucket_tagging(Bucket=NAME, Tagging={"TagSet": theirs})
    ctx = Context(clients, region, {"acme-prod"})
    rec = Bucket()
    with pytest.raises(TerminalError) as refused:
        rec.create(desired(), ctx)
    assert refused.value.code == "BucketNotOwned" and NAME in str(refused.value)
    assert rec.classify(refused.value) is refused.value
    assert tags_of(NAME, region) == to_dict(theirs) and policy_of(NAME, region) is None


@pytest.mark.parametrize("region", REGIONS)
def test_a_lost_create_answer_is_tagged_by_the_resend_of_its_attempt(
    clients: ClientFactory, region: str
) -> None:
    factory = losing("CreateBucket")
    ctx = Context(factory, region, {"acme-prod"})
    rec, res = Bucket(), desired()
    with create_attempt():
        with pytest.raises(AmbiguousWrite):
            rec.create(res, ctx)
        assert rec.find_own(res, ctx) is None, "untagged: not found as its own by tag"
        made = rec.create(res, ctx)
    assert made.owned and made.physical_id == NAME
    assert factory.sent["CreateBucket"] == 1, "the resend sends no second CreateBucket"
    assert tags_of(NAME, region) == res.ownership_tags() and policy_of(NAME, region)
    assert rec.observe([res], ctx)[LOGICAL_ID].owned


def test_an_untagged_bucket_left_by_an_earlier_attempt_is_refused(ctx: Context) -> None:
    """Outside the attempt that made it only the journal may vouch for it (the plan)."""
    factory = losing("CreateBucket")
    lossy = Context(factory, REGION, {"acme-prod"})
    with create_attempt(), pytest.raises(AmbiguousWrite):
        Bucket().create(desired(), lossy)
    with create_attempt(), pytest.raises(TerminalError, match="never takes over"):
        Bucket().create(desired(), ctx)
    assert tags_of(NAME) == {} and policy_of(NAME) is None


def test_an_apply_losing_the_create_answer_converges_with_one_bucket(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(ROOT / "specs" / "acme-staging.yaml", specs)
    runner = sqlite_runner(tmp_path, max_attempts=3)
    factory = losing("CreateBucket")
    monkeypatch.setattr(runner, "new_clients", lambda: factory)
    first = runner.apply(load_desired(specs), PlanOptions())
    assert factory.lost == ["CreateBucket"] and first.outcome == "succeeded", first.plan.errors
    [bucket] = [b["Name"] for b in s3().list_buckets()["Buckets"]]
    assert tags_of(bucket)["plumb:stack"] == "acme-staging"
    monkeypatch.setattr(runner, "new_clients", lambda: ClientFactory(max_attempts=1))
    second = runner.apply(load_desired(specs), PlanOptions())
    assert second.api_calls["writes"] == 0, second.api_calls


def test_a_bucket_a_killed_apply_made_but_never_tagged_is_completed_by_the_next(
    aws: None, tmp_path: Path
) -> None:
    """Killed between CreateBucket and its tags (seen in the kill-part-way e2e test): the
    journal holds the pending create, so the next apply adopts the untagged bucket and
    finishes it with an update (tags and settings), never a create that would refuse it."""
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(ROOT / "specs" / "acme-staging.yaml", specs)
    runner = sqlite_runner(tmp_path, max_attempts=1)
    desired = load_desired(specs)
    [res] = [r for r in desired.resources if r.kind == "Bucket"]
    name = str(res.spec["bucketName"])
    killed = runner.store.runs.begin("cli-apply", "apply", [res.stack])
    runner.store.journal.mark_pending(killed, res.stack, res.logical_id, res.kind, name)
    s3().create_bucket(Bucket=name)  # the kill came before the tags
    result = runner.apply(desired, PlanOptions())
    assert result.outcome == "succeeded", (result.plan.errors, result.failed)
    assert result.plan.by_id()[res.logical_id].type.value == "update"
    assert tags_of(name)["plumb:id"] == res.logical_id
    assert [b["Name"] for b in s3().list_buckets()["Buckets"]] == [name]
