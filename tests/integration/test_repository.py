"""The Repository reconciler against moto: settings, lifecycle policy, tags, never images."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import boto3
import pytest

from controller.aws.context import Context
from controller.errors import TerminalError
from controller.kinds.diff import diff
from controller.kinds.tags import to_list
from controller.model import Resource
from reconcilers.repository import Repository, keep_last_images_policy
from tests.conformance.repository import SAMPLE
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.kind_passes import HAND_TAGS, create_one, noop_calls, once_each, pass_calls

NAME = "acme-prod-app"
LOGICAL_ID = "acme-prod/app/repository"


def desired(name: str = NAME, logical_id: str = LOGICAL_ID, **spec: Any) -> Resource:
    full = {
        "repositoryName": name,
        "imageTagMutability": "IMMUTABLE",
        "scanOnPush": True,
        "encryptionType": "AES256",
        "lifecyclePolicy": keep_last_images_policy(20),
        **spec,
    }
    return Resource("Repository", logical_id, full, REGION, tags={"CostCenter": "4711"})


def ecr() -> Any:
    return boto3.client("ecr", region_name=REGION)


def tags_of(name: str = NAME) -> dict[str, str]:
    arn = ecr().describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"]
    return {t["Key"]: t["Value"] for t in ecr().list_tags_for_resource(resourceArn=arn)["tags"]}


def push_image(name: str = NAME) -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:" + "a" * 64, "size": 1, "mediaType": "x"},
        "layers": [],
    }
    ecr().put_image(repositoryName=name, imageManifest=json.dumps(manifest), imageTag="1.4.2")


@pytest.fixture
def created(ctx: Context) -> Resource:
    return create_one(Repository(), desired(), ctx)


def test_create_sets_every_field_tags_and_lifecycle_policy(ctx: Context, created: Resource) -> None:
    [repo] = ecr().describe_repositories(repositoryNames=[NAME])["repositories"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfiguration"]["encryptionType"] == "AES256"
    assert tags_of() == created.ownership_tags()
    text = ecr().get_lifecycle_policy(repositoryName=NAME)["lifecyclePolicyText"]
    assert json.loads(text) == keep_last_images_policy(20)

    attrs = Repository().observe([created], ctx)[LOGICAL_ID].attrs
    assert attrs == {
        "id": NAME,
        "name": NAME,
        "arn": repo["repositoryArn"],
        "uri": repo["repositoryUri"],
        "registryId": repo["registryId"],
    }


def test_keep_last_images_policy_expires_all_but_the_newest_n() -> None:
    [rule] = keep_last_images_policy(5)["rules"]
    assert rule["rulePriority"] == 1
    assert rule["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 5,
    }
    assert rule["action"] == {"type": "expire"}


def test_second_run_is_noop_with_three_reads(ctx: Context, created: Resource) -> None:
    reads = once_each("ecr", "DescribeRepositories", "ListTagsForResource", "GetLifecyclePolicy")
    assert noop_calls(Repository(), created, ctx) == (0, reads)


def test_a_spec_without_lifecycle_policy_never_reads_it(ctx: Context) -> None:
    spec = desired()
    res = spec.with_spec({k: v for k, v in spec.spec.items() if k != "lifecyclePolicy"})
    reconcile_once(Repository(), [res], ctx)
    writes, reads = count_calls(ctx, lambda: reconcile_once(Repository(), [res], ctx))
    assert writes == 0 and "ecr:GetLifecyclePolicy" not in reads


def test_rules_in_another_order_than_ecr_keeps_are_not_drift(ctx: Context) -> None:
    untagged = {
        "rulePriority": 1,
        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"},
    }
    last_rule = keep_last_images_policy(30)["rules"][0] | {"rulePriority": 2}
    res = desired(lifecyclePolicy={"rules": [last_rule, untagged]})
    reconcile_once(Repository(), [res], ctx)
    # ECR answers with the rules sorted by rulePriority (moto keeps the text as sent).
    by_priority = json.dumps({"rules": [untagged, last_rule]})
    ecr().put_lifecycle_policy(repositoryName=NAME, lifecyclePolicyText=by_priority)

    assert reconcile_once(Repository(), [res], ctx)[0] == {LOGICAL_ID: "noop"}


def test_a_rule_added_by_hand_is_drift_and_is_removed(ctx: Context, created: Resource) -> None:
    extra = {
        "rulePriority": 2,
        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"},
    }
    policy = {"rules": [*keep_last_images_policy(20)["rules"], extra]}
    ecr().put_lifecycle_policy(repositoryName=NAME, lifecyclePolicyText=json.dumps(policy))
    assert diff(created, Repository().observe([created], ctx)[LOGICAL_ID]).paths == [
        "lifecyclePolicy.rules"
    ]

    writes, calls = pass_calls(Repository(), created, ctx)

    assert writes == 1 and calls["ecr:PutLifecyclePolicy"] == 1
    text = ecr().get_lifecycle_policy(repositoryName=NAME)["lifecyclePolicyText"]
    assert json.loads(text) == keep_last_images_policy(20)


def test_a_deleted_lifecycle_policy_is_put_back(ctx: Context, created: Resource) -> None:
    ecr().delete_lifecycle_policy(repositoryName=NAME)
    observed = Repository().observe([created], ctx)[LOGICAL_ID]
    assert observed.spec["lifecyclePolicy"] is None
    reconcile_once(Repository(), [created], ctx)
    text = ecr().get_lifecycle_policy(repositoryName=NAME)["lifecyclePolicyText"]
    assert json.loads(text) == keep_last_images_policy(20)


def test_scan_on_push_and_tags_changed_by_hand_are_repaired(
    ctx: Context, created: Resource
) -> None:
    ecr().put_image_scanning_configuration(
        repositoryName=NAME, imageScanningConfiguration={"scanOnPush": False}
    )
    arn = Repository().observe([created], ctx)[LOGICAL_ID].attrs["arn"]
    ecr().tag_resource(resourceArn=arn, tags=to_list(HAND_TAGS))

    writes, calls = pass_calls(Repository(), created, ctx)

    assert writes == 3
    assert calls["ecr:PutImageScanningConfiguration"] == 1
    assert calls["ecr:TagResource"] == calls["ecr:UntagResource"] == 1
    assert tags_of() == created.ownership_tags()
    [repo] = ecr().describe_repositories(repositoryNames=[NAME])["repositories"]
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}


def test_a_create_repeated_after_a_lost_answer_adopts_and_completes_it(ctx: Context) -> None:
    # The first attempt made the tagged repository but never put its lifecycle policy.
    ecr().create_repository(
        repositoryName=NAME,
        tags=[{"Key": k, "Value": v} for k, v in desired().ownership_tags().items()],
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
    )
    res = desired()

    observed = Repository().create(res, ctx)

    assert observed.owned and not diff(res, observed)
    assert len(ecr().describe_repositories()["repositories"]) == 1
    text = ecr().get_lifecycle_policy(repositoryName=NAME)["lifecyclePolicyText"]
    assert json.loads(text) == keep_last_images_policy(20)


def test_an_orphan_is_observed_without_its_policy_and_foreign_names_are_not_read(
    ctx: Context, created: Resource
) -> None:
    ecr().create_repository(repositoryName="other-team-app")
    theirs = {"plumb:stack": "acme-staging", "plumb:id": "acme-staging/app/repository"}
    ecr().create_repository(
        repositoryName="acme-staging-old", tags=[{"Key": k, "Value": v} for k, v in theirs.items()]
    )

    found: dict[str, Any] = {}
    _, reads = count_calls(ctx, lambda: found.update(Repository().observe([created], ctx)))

    assert set(found) == {LOGICAL_ID, "acme-staging/app/repository"}
    assert "lifecyclePolicy" not in found["acme-staging/app/repository"].spec
    # acme-prod-app and acme-staging-old; other-team-app cannot be ours and is not read.
    assert reads["ecr:ListTagsForResource"] == 2
    assert reads["ecr:GetLifecyclePolicy"] == 1


def test_delete_refuses_a_repository_that_holds_images(ctx: Context, created: Resource) -> None:
    push_image()
    rec = Repository()
    observed = rec.observe([created], ctx)[LOGICAL_ID]

    with pytest.raises(TerminalError, match="still holds images") as raised:
        rec.delete(observed, ctx)

    assert raised.value.code == "RepositoryNotEmptyException"
    assert ecr().list_images(repositoryName=NAME)["imageIds"][0]["imageTag"] == "1.4.2"
    assert rec.observe([created], ctx)[LOGICAL_ID].owned


def test_the_plan_warns_of_an_image_tag_nobody_has_pushed(ctx: Context) -> None:
    rec = Repository()
    desired = dataclasses.replace(
        SAMPLE.build(ctx),
        expects={"imageTags": ["1.4.3"]},
    )
    [before] = rec.warnings(desired, None)
    assert "must be pushed" in before and "1.4.3" in before
    rec.create(desired, ctx)
    found = rec.observe([desired], ctx)[desired.logical_id]
    [missing] = rec.warnings(desired, found)
    assert "image tag 1.4.3 is not in repository" in missing and "docker push" in missing

    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "layers": [],
        }
    )
    ctx.ecr.put_image(
        repositoryName=desired.spec["repositoryName"], imageManifest=manifest, imageTag="1.4.3"
    )
    assert rec.warnings(desired, rec.observe([desired], ctx)[desired.logical_id]) == []
