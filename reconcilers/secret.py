"""The Secrets Manager secret kind: the secret's name, description and tags, never its value.

plumb creates a secret empty and leaves the value to its owner (`put-secret-value`); it
never calls GetSecretValue or PutSecretValue, so a value cannot reach a plan, the state or
a report. A secret with no value yet is a warning, not drift. Deletion keeps the 7-day
recovery window, and re-adding a secret that plumb scheduled for deletion restores it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.diff import diff as diff_of
from controller.kinds.errors import error_code, ignoring
from controller.kinds.iam_scope import Scope, arn, but, tagging
from controller.kinds.registry import register
from controller.kinds.tags import TagApi, to_dict
from controller.model import TAG_ID, TAG_STACK, Diff, Observed, Resource
from reconcilers._ownership import not_ours

RECOVERY_DAYS = 7
MAX_FILTER_VALUES = 10  # ListSecrets takes at most 10 values per filter
_NOT_FOUND = "ResourceNotFoundException"
# AWS answers a create over a secret scheduled for deletion with InvalidRequestException;
# moto answers ResourceExistsException (docs/moto.md, Secrets Manager).
_NAME_TAKEN = frozenset({"ResourceExistsException", "InvalidRequestException"})
_ACTIONS = (
    "secretsmanager:ListSecrets",
    "secretsmanager:DescribeSecret",
    "secretsmanager:CreateSecret",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:RestoreSecret",
    "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
)
_TAG_WRITES = ("secretsmanager:TagResource", "secretsmanager:UntagResource")
# Secrets Manager adds six characters to the name in the ARN.
_SECRET = arn("secretsmanager", "secret:{name}-??????")


@register
class Secret(BaseReconciler):
    """A secret found by its ownership tags; plumb manages its metadata, not its value."""

    descriptor = Descriptor(
        "Secret",
        "secretsmanager",
        not_found_codes=frozenset({_NOT_FOUND}),
        terminal_codes=frozenset(
            {
                "ResourceExistsException",
                "MalformedPolicyDocumentException",
                "PreconditionNotMetException",
                "EncryptionFailure",
            }
        ),
        iam=Grants(
            actions=_ACTIONS,
            scopes=(
                Scope(but(_ACTIONS, "secretsmanager:ListSecrets", *_TAG_WRITES), (_SECRET,)),
                *tagging("secretsmanager:TagResource", "secretsmanager:UntagResource", (_SECRET,)),
            ),
        ),
        tags=TagApi("tag_resource", "untag_resource", "SecretId"),
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["name"])

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        found: dict[str, Observed] = {}
        for item in ctx.describe(
            "secretsmanager", "list_secrets", "SecretList", Filters=_owned_filters(ctx)
        ):
            tags = to_dict(item.get("Tags"))
            if ctx.owns(tags) and not item.get("DeletedDate"):
                found[tags[TAG_ID]] = _observed(tags[TAG_ID], item, tags, ctx)
        for res in desired:
            if res.logical_id in found:
                continue
            # Not in the listing: anything of that name is someone else's, or ours but
            # scheduled for deletion, which reads as absent so that create restores it.
            item = _describe(ctx, str(res.spec["name"]))
            if item is None:
                continue
            tags = to_dict(item.get("Tags"))
            if item.get("DeletedDate") and tags.get(TAG_ID) == res.logical_id:
                continue
            found[res.logical_id] = _observed(res.logical_id, item, tags, ctx, owned=False)
        return found

    def create(self, desired: Resource, ctx: Context) -> Observed:
        name = str(desired.spec["name"])
        spec = desired.spec
        extra = {"Description": spec["description"]} if "description" in spec else {}
        try:
            # No SecretString: the value is its owner's to set, never plumb's.
            out = ctx.secretsmanager.create_secret(Name=name, Tags=ctx.tag_list(desired), **extra)
        except ClientError as err:
            if error_code(err) not in _NAME_TAKEN:
                raise
            return self._restore(desired, ctx, err)
        item = {"ARN": out["ARN"], "Name": out["Name"], **extra}
        return _observed(desired.logical_id, item, desired.ownership_tags(), ctx)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        arn = observed.attrs["arn"]
        sm = ctx.secretsmanager
        if diff.changed("description"):
            # UpdateSecret without SecretString changes metadata only, no new version.
            sm.update_secret(SecretId=arn, Description=desired.spec.get("description") or "")
        if diff.changed("tags"):
            self.sync_tags(ctx, arn, observed, desired)
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # Never ForceDeleteWithoutRecovery: the value is not plumb's and cannot be rebuilt.
        arn = observed.attrs["arn"]
        try:
            with self.deleting():
                ctx.secretsmanager.delete_secret(SecretId=arn, RecoveryWindowInDays=RECOVERY_DAYS)
        except ClientError as err:
            # One already scheduled for deletion answers InvalidRequestException: it is gone
            # as far as plumb can make it; anything else that code means is an error.
            item = _describe(ctx, arn) if error_code(err) == "InvalidRequestException" else None
            if item is None or not item.get("DeletedDate"):
                raise

    def warnings(self, desired: Resource, observed: Observed | None) -> list[str]:
        if observed is not None and (not observed.owned or observed.attrs.get("hasValue")):
            return []
        name = desired.spec["name"]
        return [
            f"secret {name} has no value yet; set it with `aws secretsmanager put-secret-value "
            f"--region {desired.region} --secret-id {name} --secret-string file://<file>`"
        ]

    def _restore(self, desired: Resource, ctx: Context, err: ClientError) -> Observed:
        """The name is taken: our own secret is adopted (a lost create answer) or, when
        scheduled for deletion (a prune, then re-added), restored; anyone else's is refused."""
        name = str(desired.spec["name"])
        item = _describe(ctx, name)
        tags = to_dict((item or {}).get("Tags"))
        if item is None:
            raise err
        if not item.get("DeletedDate"):
            # A retried create meeting its own secret (the first answer was lost) adopts it.
            return self.adopt_own(desired, ctx, err)
        if tags.get(TAG_ID) != desired.logical_id:
            message = (
                f"secret {name} is scheduled for deletion and is not this resource's; "
                "restore or remove it by hand"
            )
            raise not_ours(self.kind, desired, error_code(err), message)
        ctx.secretsmanager.restore_secret(SecretId=item["ARN"])
        restored = _observed(desired.logical_id, item, tags, ctx)
        delta = diff_of(desired, restored)
        return self.update(desired, restored, delta, ctx) if delta else restored


def _owned_filters(ctx: Context) -> list[dict[str, Any]]:
    """Secrets tagged plumb:stack, narrowed to the stacks in scope when the API allows.

    ListSecrets filters match by prefix and on any tag's value, so ownership is still
    decided on the tags themselves (`ctx.owns`).
    """
    filters: list[dict[str, Any]] = [{"Key": "tag-key", "Values": [TAG_STACK]}]
    if len(ctx.stacks) <= MAX_FILTER_VALUES:
        filters.append({"Key": "tag-value", "Values": sorted(ctx.stacks)})
    return filters


def _describe(ctx: Context, name: str) -> dict[str, Any] | None:
    with ignoring({_NOT_FOUND}):
        return dict(ctx.secretsmanager.describe_secret(SecretId=name))
    return None


def _has_value(item: Mapping[str, Any]) -> bool:
    # ListSecrets says SecretVersionsToStages, DescribeSecret says VersionIdsToStages.
    stages = item.get("SecretVersionsToStages") or item.get("VersionIdsToStages") or {}
    return any(stages.values())


def _observed(
    logical_id: str,
    item: Mapping[str, Any],
    tags: Mapping[str, str],
    ctx: Context,
    owned: bool = True,
) -> Observed:
    name = str(item["Name"])
    return Observed(
        kind=Secret.kind,
        logical_id=logical_id,
        physical_id=name,
        spec={"name": name, "description": item.get("Description", "")},
        attrs={"id": name, "name": name, "arn": item["ARN"], "hasValue": _has_value(item)},
        tags=dict(tags),
        owned=owned,
        region=ctx.region,
    )
