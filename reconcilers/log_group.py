"""The CloudWatch Logs log group kind: its name, retention and tags.

What makes a log group risky, and where it is handled:
  - CloudWatch Logs cannot list log groups by tag, so observation is one paginated
    DescribeLogGroups, then one ListTagsForResource per group that could be ours (see
    `_worth_reading` for the trade-off). The Resource Groups Tagging API does see log groups,
    but it is eventually consistent: a group created a moment ago could be missed, and
    plumb would then plan to create a group that already exists.
  - Log groups have two ARNs: DescribeLogGroups' `arn` ends in ":*" (the log streams),
    while the tagging API wants the group's own ARN; attrs["arn"] is the one without ":*"
    (moto accepts either, AWS does not: docs/moto.md, CloudWatch Logs).
  - CreateLogGroup takes no client token: a create whose answer was lost answers
    ResourceAlreadyExistsException on the retry, and the group is adopted only if it
    carries this resource's `plumb:id` tag.
  - A group without a retention policy keeps its events forever; that reads as
    `retentionInDays: None`, which is drift when the spec names a retention.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.errors import error_code, ignoring
from controller.kinds.iam_scope import Scope, arn, but, tagging
from controller.kinds.registry import register
from controller.kinds.tags import TagApi
from controller.model import Diff, Observed, Resource
from reconcilers._ownership import by_owner, tagged

_NOT_FOUND = "ResourceNotFoundException"
_EXISTS = "ResourceAlreadyExistsException"
# CloudWatch Logs takes the tags to set as a map.
_TAGS = TagApi(
    "tag_resource",
    "untag_resource",
    "resourceArn",
    tags_param="tags",
    as_map=True,
    keys_param="tagKeys",
)
_ACTIONS = (
    "logs:DescribeLogGroups",
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:PutRetentionPolicy",
    "logs:DeleteRetentionPolicy",
    "logs:ListTagsForResource",
    "logs:TagResource",
    "logs:UntagResource",
)
_GROUP = (arn("logs", "log-group:{name}"), arn("logs", "log-group:{name}:*"))


@register
class LogGroup(BaseReconciler):
    """A log group with a fixed name, found by its ownership tags."""

    descriptor = Descriptor(
        "LogGroup",
        "logs",
        not_found_codes=frozenset({_NOT_FOUND}),
        terminal_codes=frozenset({_EXISTS}),
        iam=Grants(
            actions=_ACTIONS,
            scopes=(
                Scope(
                    but(
                        _ACTIONS, "logs:DescribeLogGroups", "logs:TagResource", "logs:UntagResource"
                    ),
                    _GROUP,
                ),
                *tagging("logs:TagResource", "logs:UntagResource", _GROUP),
            ),
        ),
        tags=_TAGS,
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["logGroupName"])

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        wanted = {str(r.spec["logGroupName"]): r for r in desired}
        listed = tagged(
            ctx.describe("logs", "describe_log_groups", "logGroups"),
            lambda group: str(group["logGroupName"]),
            lambda name: _worth_reading(ctx, name, wanted),
            lambda group: _read_tags(ctx.logs, _arn(group)),
        )
        return by_owner(ctx, listed, wanted, lambda lid, g, tags, _: _observed(lid, g, tags, ctx))

    def create(self, desired: Resource, ctx: Context) -> Observed:
        name = str(desired.spec["logGroupName"])
        try:
            ctx.logs.create_log_group(logGroupName=name, tags=desired.ownership_tags())
        except ClientError as err:
            if error_code(err) != _EXISTS:
                raise
            return self.adopt_own(desired, ctx, err)
        # Tagged from birth: a crash before the retention is put leaves an owned group
        # whose missing retention the next run repairs as drift.
        retention = desired.spec.get("retentionInDays")
        if retention is not None:
            _put_retention(ctx.logs, name, int(retention))
        arn = f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account_id}:log-group:{name}"
        group = {"logGroupName": name, "logGroupArn": arn, "retentionInDays": retention}
        return _observed(desired.logical_id, group, desired.ownership_tags(), ctx)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        name = observed.physical_id
        if diff.changed("retentionInDays"):
            _put_retention(ctx.logs, name, int(desired.spec["retentionInDays"]))
        if diff.changed("tags"):
            self.sync_tags(ctx, observed.attrs["arn"], observed, desired)
        return self.observe_one(desired, ctx, name)

    def delete(self, observed: Observed, ctx: Context) -> None:
        with self.deleting():
            ctx.logs.delete_log_group(logGroupName=observed.physical_id)


# -- observing ------------------------------------------------------------------------


def _worth_reading(ctx: Context, name: str, wanted: Mapping[str, Resource]) -> bool:
    """A listed group is worth a tag read when its name is desired or contains a stack.

    Each tag read is one call, so only groups that could be ours are read. plumb names its
    groups "/ecs/{stack}"; a LogGroup written directly in a spec under a name that does not
    contain its stack is not found as an orphan once it leaves the spec (it is never
    deleted by mistake, only forgotten).
    """
    return name in wanted or any(stack in name for stack in sorted(ctx.stacks))


def _arn(group: Mapping[str, Any]) -> str:
    """The group's own ARN: `logGroupArn`, or `arn` without the ":*" of its streams."""
    return str(group.get("logGroupArn") or str(group["arn"]).removesuffix(":*"))


def _read_tags(logs: Any, arn: str) -> dict[str, str] | None:
    """The group's tags, or None when it is gone."""
    with ignoring({_NOT_FOUND}):
        return dict(logs.list_tags_for_resource(resourceArn=arn).get("tags") or {})
    return None


def _observed(
    logical_id: str,
    group: Mapping[str, Any],
    tags: Mapping[str, str],
    ctx: Context,
) -> Observed:
    name = str(group["logGroupName"])
    return Observed(
        kind=LogGroup.kind,
        logical_id=logical_id,
        physical_id=name,
        spec={"logGroupName": name, "retentionInDays": group.get("retentionInDays")},
        attrs={"id": name, "name": name, "arn": _arn(group)},
        tags=dict(tags),
        region=ctx.region,
    )


# -- writing: one call per drifted field ----------------------------------------------


def _put_retention(logs: Any, name: str, days: int) -> None:
    logs.put_retention_policy(logGroupName=name, retentionInDays=days)
