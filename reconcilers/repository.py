"""The ECR repository kind: tag mutability, scan on push, encryption and the lifecycle policy.

What makes a repository risky, and where it is handled:
  - It holds images, which plumb never deletes: `delete` calls DeleteRepository without
    `force`, so a repository with images is a terminal error that says so (the images and
    the repository stay).
  - ECR cannot list repositories by tag, and the Resource Groups Tagging API does not see
    ECR repositories (not on moto either: docs/moto.md, Discovery by tag), so observation
    is one paginated DescribeRepositories, then one ListTagsForResource per repository
    that could be ours (`_ownership.could_be_ours`, which says the trade-off), and a
    GetLifecyclePolicy only for a desired, owned repository whose spec manages the policy.
  - CreateRepository takes no client token: a create whose answer was lost answers
    RepositoryAlreadyExistsException on the retry, and the repository is adopted only if
    it carries this resource's `plumb:id` tag.
  - ECR stores a lifecycle policy's rules ordered by rulePriority; the observed rules are
    put back in the spec's order (priorities are unique), so that is not drift.
  - The image tags the service will run are `expects`, not state: one BatchGetImage per
    desired repository checks them, and a tag nobody pushed yet is a warning in the plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.errors import ERR_DELETE, TerminalError
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.errors import error_code, ignoring
from controller.kinds.iam_scope import Scope, arn, but, tagging
from controller.kinds.registry import register
from controller.kinds.tags import TagApi, to_dict
from controller.model import Diff, Observed, Resource
from reconcilers._ecr_lifecycle import put_policy, read_policy
from reconcilers._ownership import by_owner, could_be_ours, tagged

_NOT_FOUND = "RepositoryNotFoundException"
_NOT_EMPTY = "RepositoryNotEmptyException"
_EXISTS = "RepositoryAlreadyExistsException"


def keep_last_images_policy(n: int) -> dict[str, Any]:
    """The standard lifecycle document: expire every image but the newest `n`."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Keep the last {n} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": n,
                },
                "action": {"type": "expire"},
            }
        ]
    }


_ACTIONS = (
    "ecr:DescribeRepositories",
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "ecr:GetLifecyclePolicy",
    "ecr:PutLifecyclePolicy",
    "ecr:PutImageScanningConfiguration",
    "ecr:PutImageTagMutability",
    "ecr:BatchGetImage",
    "ecr:ListTagsForResource",
    "ecr:TagResource",
    "ecr:UntagResource",
)
_REPOSITORY = arn("ecr", "repository/{name}")


@register
class Repository(BaseReconciler):
    """An ECR repository with a fixed name, found by its ownership tags."""

    descriptor = Descriptor(
        "Repository",
        "ecr",
        not_found_codes=frozenset({_NOT_FOUND}),
        terminal_codes=frozenset(
            {
                _NOT_EMPTY,  # plumb never deletes images
                _EXISTS,
                "InvalidTagParameterException",
                "TooManyTagsException",
                "LifecyclePolicyPreviewInProgressException",
                "KmsException",
            }
        ),
        iam=Grants(
            actions=_ACTIONS,
            scopes=(
                Scope(
                    but(
                        _ACTIONS, "ecr:DescribeRepositories", "ecr:TagResource", "ecr:UntagResource"
                    ),
                    (_REPOSITORY,),
                ),
                *tagging("ecr:TagResource", "ecr:UntagResource", (_REPOSITORY,)),
            ),
        ),
        tags=TagApi(
            "tag_resource", "untag_resource", "resourceArn", tags_param="tags", keys_param="tagKeys"
        ),
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["repositoryName"])

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        wanted = {str(r.spec["repositoryName"]): r for r in desired}
        listed = tagged(
            ctx.describe("ecr", "describe_repositories", "repositories"),
            lambda repo: str(repo["repositoryName"]),
            partial(could_be_ours, ctx, wanted=wanted),
            lambda repo: _read_tags(ctx.ecr, repo["repositoryArn"]),
        )
        return by_owner(ctx, listed, wanted, partial(_observe, ctx))

    def create(self, desired: Resource, ctx: Context) -> Observed:
        spec = desired.spec
        try:
            repo = ctx.ecr.create_repository(
                repositoryName=spec["repositoryName"],
                tags=ctx.tag_list(desired),
                imageTagMutability=spec["imageTagMutability"],
                imageScanningConfiguration={"scanOnPush": bool(spec["scanOnPush"])},
                encryptionConfiguration={"encryptionType": spec["encryptionType"]},
            )["repository"]
        except ClientError as err:
            if error_code(err) != _EXISTS:
                raise
            return self.adopt_own(desired, ctx, err)
        # Tagged from birth: a crash before the policy is put leaves an owned repository
        # whose missing policy the next run repairs as drift.
        if "lifecyclePolicy" in spec:
            put_policy(ctx.ecr, repo["repositoryName"], spec["lifecyclePolicy"])
        return _observed(desired.logical_id, repo, desired.ownership_tags(), ctx, spec=spec)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        name, spec = observed.physical_id, desired.spec
        if diff.changed("imageTagMutability"):
            ctx.ecr.put_image_tag_mutability(
                repositoryName=name, imageTagMutability=spec["imageTagMutability"]
            )
        if diff.changed("scanOnPush"):
            ctx.ecr.put_image_scanning_configuration(
                repositoryName=name,
                imageScanningConfiguration={"scanOnPush": bool(spec["scanOnPush"])},
            )
        if diff.changed("lifecyclePolicy"):
            put_policy(ctx.ecr, name, spec["lifecyclePolicy"])
        if diff.changed("tags"):
            self.sync_tags(ctx, observed.attrs["arn"], observed, desired)
        return self.observe_one(desired, ctx, name)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # Never force: force would delete every image in the repository with it.
        try:
            with self.deleting():
                ctx.ecr.delete_repository(repositoryName=observed.physical_id)
        except ClientError as err:
            if error_code(err) != _NOT_EMPTY:
                raise
            message = (
                f"repository {observed.physical_id} still holds images, and plumb never "
                "deletes images: remove them yourself, or keep the repository "
                "(deletionPolicy: Retain)"
            )
            raise TerminalError(
                ERR_DELETE.format(
                    kind=self.kind, logical_id=observed.logical_id, code=_NOT_EMPTY, message=message
                ),
                _NOT_EMPTY,
            ) from err

    def warnings(self, desired: Resource, observed: Observed | None) -> list[str]:
        """An image tag the service will run that nobody has pushed yet: ECS cannot start
        its tasks until it is there (the rollout waits, then the circuit breaker rolls back)."""
        name = desired.spec["repositoryName"]
        if observed is None:
            return [
                f"image tag {tag} must be pushed to repository {name} once this plan has "
                "created it, or the service cannot start it"
                for tag in desired.expects.get("imageTags") or []
            ]
        if not observed.owned or "imageTags" not in observed.attrs:
            return []
        missing = [
            str(t)
            for t in desired.expects.get("imageTags") or []
            if str(t) not in observed.attrs["imageTags"]
        ]
        return [
            f"image tag {tag} is not in repository {name} yet: push it "
            f"(docker push {observed.attrs['uri']}:{tag}) or the service cannot start it"
            for tag in missing
        ]


# -- observing ------------------------------------------------------------------------


def _read_tags(ecr: Any, arn: str) -> dict[str, str] | None:
    """The repository's tags, or None when it is gone."""
    with ignoring({_NOT_FOUND}):
        return to_dict(ecr.list_tags_for_resource(resourceArn=arn).get("tags"))
    return None


def _observe(
    ctx: Context,
    logical_id: str,
    repo: Mapping[str, Any],
    tags: dict[str, str],
    desired: Resource | None,
) -> Observed:
    """Reads the lifecycle policy only for a desired repository whose spec manages it."""
    spec = _spec(repo)
    if desired is not None and "lifecyclePolicy" in desired.spec:
        want = desired.spec["lifecyclePolicy"]
        spec["lifecyclePolicy"] = read_policy(ctx.ecr, repo["repositoryName"], want)
    found = _observed(logical_id, repo, tags, ctx, spec=spec)
    expected = (desired.expects.get("imageTags") or []) if desired is not None else []
    if expected:
        present = _present_tags(ctx.ecr, repo["repositoryName"], [str(t) for t in expected])
        found = dataclasses.replace(found, attrs={**found.attrs, "imageTags": present})
    return found


def _present_tags(ecr: Any, name: str, tags: list[str]) -> list[str]:
    """Which of `tags` the repository holds: one BatchGetImage (a read) for all of them."""
    out = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": t} for t in tags])
    return sorted({str(i.get("imageId", {}).get("imageTag")) for i in out.get("images") or ()})


def _spec(repo: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "repositoryName": repo["repositoryName"],
        "imageTagMutability": repo.get("imageTagMutability"),
        "scanOnPush": bool(repo.get("imageScanningConfiguration", {}).get("scanOnPush")),
        "encryptionType": repo.get("encryptionConfiguration", {}).get("encryptionType"),
    }


def _observed(
    logical_id: str,
    repo: Mapping[str, Any],
    tags: Mapping[str, str],
    ctx: Context,
    spec: Mapping[str, Any] | None = None,
) -> Observed:
    name = str(repo["repositoryName"])
    return Observed(
        kind=Repository.kind,
        logical_id=logical_id,
        physical_id=name,
        spec=dict(spec) if spec is not None else _spec(repo),
        attrs={
            "id": name,
            "name": name,
            "arn": repo["repositoryArn"],
            "uri": repo["repositoryUri"],
            "registryId": repo["registryId"],
        },
        tags=dict(tags),
        region=ctx.region,
    )
