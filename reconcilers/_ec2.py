"""What the EC2 network kinds share: one tag-filtered describe per kind, tag sync, and the
error codes that only mean "something else has to go first".

Every EC2 network kind is found the same way: one paginated describe filtered on
`tag:plumb:stack` for all stacks in scope, then grouped by the `plumb:id` tag. The tags are
checked again client-side, because some filters are ignored by some endpoints (moto
ignores tag filters on NAT gateways), and an unowned resource must never be mistaken for
one of ours.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.errors import TransientError
from controller.kinds.base import BaseReconciler
from controller.kinds.errors import error_code, error_message
from controller.kinds.iam_scope import Scope, arn
from controller.kinds.tags import tag_delta, to_dict, to_list
from controller.model import TAG_ID, Observed, Resource

Raw = Mapping[str, Any]
# Every EC2 kind tags on create (TagSpecifications needs ec2:CreateTags too) and syncs tags.
TAG_ACTIONS = ("ec2:CreateTags", "ec2:DeleteTags")


def ec2_arn(resource_type: str) -> str:
    """EC2 ARNs end in an id AWS picks: its writes are scoped by plumb's ownership tag."""
    return arn("ec2", f"{resource_type}/*")


def tag_scopes(resource_type: str, create_action: str) -> tuple[Scope, Scope]:
    """Tags set by the create itself (TagSpecifications), then by plumb on its own
    resources, never moving one out of its stack (keeps-ownership)."""
    where = (ec2_arn(resource_type),)
    return (
        Scope(TAG_ACTIONS[:1], where, ("created",), create_action=(create_action,)),
        Scope(TAG_ACTIONS, where, ("owned", "keeps-ownership")),
    )


class Ec2Kind(BaseReconciler):
    """A kind read with one `describe_*` call; subclasses say which and map one item."""

    describe_op: ClassVar[str]  # "describe_vpcs"
    list_key: ClassVar[str]  # "Vpcs"
    id_key: ClassVar[str]  # "VpcId"

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        return self._observe(ctx, ctx.owned_filter(), desired)

    def observe_one(self, desired: Resource, ctx: Context, physical_id: str = "") -> Observed:
        """After a write: the same read, narrowed to the resource's id when it is known, else
        to its `plumb:id` tag (a tag filter makes EC2 scan every resource of the kind)."""
        only = [{"Name": f"tag:{TAG_ID}", "Values": [desired.logical_id]}]
        if physical_id:
            only = [{"Name": id_filter(self.id_key), "Values": [physical_id]}]
        found = self._observe(ctx, only, [desired]).get(desired.logical_id)
        return self.must_see(found, desired)

    def _observe(
        self, ctx: Context, filters: list[dict[str, Any]], desired: Sequence[Resource]
    ) -> dict[str, Observed]:
        return self._grouped(ctx, self._describe(ctx, filters))

    def _grouped(self, ctx: Context, items: Iterable[Raw]) -> dict[str, Observed]:
        """One Observed per logical id; the others carrying it ride along as alternates,
        for the plan to keep the one in use (controller/engine/twins.py)."""
        return {
            lid: with_alternates([self._to_observed(r, ctx, []) for r in group])
            for lid, group in owned_groups(ctx, items, self.id_key).items()
        }

    def _describe(self, ctx: Context, filters: list[dict[str, Any]]) -> list[Raw]:
        return ctx.describe("ec2", self.describe_op, self.list_key, Filters=filters)

    def _to_observed(self, raw: Raw, ctx: Context, duplicates: list[str]) -> Observed:
        raise NotImplementedError


def id_filter(id_key: str) -> str:
    """EC2's filter name for an id field: "RouteTableId" -> "route-table-id"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", id_key).lower()


def owned_groups(ctx: Context, items: Iterable[Raw], id_key: str) -> dict[str, list[Raw]]:
    """The items a stack in scope owns, by logical id, each group lowest physical id first."""
    groups: dict[str, list[Raw]] = {}
    for raw in items:
        tags = to_dict(raw.get("Tags"))
        if ctx.owns(tags):
            groups.setdefault(tags[TAG_ID], []).append(raw)
    for group in groups.values():
        group.sort(key=lambda r: str(r[id_key]))
    return dict(sorted(groups.items()))


def with_alternates(group: Sequence[Observed]) -> Observed:
    """The first of one logical id's resources, carrying the others."""
    return dataclasses.replace(group[0], alternates=tuple(group[1:]))


def owned(ctx: Context, items: Iterable[Raw], id_key: str) -> Iterator[tuple[str, Raw, list[str]]]:
    """(logical id, item, ids of other items carrying the same logical id) for each item a
    stack in scope owns; the lowest physical id wins, so the choice is stable across runs."""
    groups: dict[str, list[Raw]] = {}
    for raw in items:
        tags = to_dict(raw.get("Tags"))
        if ctx.owns(tags):
            groups.setdefault(tags[TAG_ID], []).append(raw)
    for lid, group in sorted(groups.items()):
        group.sort(key=lambda r: str(r[id_key]))
        yield lid, group[0], [str(r[id_key]) for r in group[1:]]


def observed(
    kind: str,
    raw: Raw,
    ctx: Context,
    *,
    physical_id: str,
    spec: Mapping[str, Any],
    attrs: Mapping[str, Any],
    ready: bool = True,
    duplicates: Sequence[str] = (),
) -> Observed:
    """An Observed of an owned EC2 item, with a warning when its logical id is not unique."""
    tags = to_dict(raw.get("Tags"))
    warnings = ()
    if duplicates:
        warnings = (
            f"{', '.join(duplicates)} also carry {TAG_ID}={tags[TAG_ID]}; plumb manages "
            f"{physical_id} only: delete the others by hand",
        )
    return Observed(
        kind=kind,
        logical_id=tags[TAG_ID],
        physical_id=physical_id,
        spec=dict(spec),
        attrs=dict(attrs),
        tags=tags,
        ready=ready,
        region=ctx.region,
        warnings=warnings,
    )


def created(
    kind: str,
    desired: Resource,
    ctx: Context,
    physical_id: str,
    spec: Mapping[str, Any],
    attrs: Mapping[str, Any],
    ready: bool = True,
) -> Observed:
    """The Observed of a resource just made: what AWS answered plus what plumb wrote.

    Built from the responses rather than read back, because EC2 reads are eventually
    consistent: a describe right after a create may not see it yet.
    """
    return Observed(
        kind=kind,
        logical_id=desired.logical_id,
        physical_id=physical_id,
        spec=dict(spec),
        attrs=dict(attrs),
        tags=desired.ownership_tags(),
        ready=ready,
        region=ctx.region,
    )


def sync_tags(ec2: Any, resource_id: str, have: Mapping[str, str], want: Mapping[str, str]) -> None:
    """Set the missing and changed tags, remove the extra ones; `aws:` tags are left alone."""
    to_set, to_remove = tag_delta(have, want)
    if to_set:
        ec2.create_tags(Resources=[resource_id], Tags=to_list(to_set))
    if to_remove:
        ec2.delete_tags(Resources=[resource_id], Tags=[{"Key": k} for k in to_remove])


@contextlib.contextmanager
def transient_on(codes: Iterable[str]) -> Iterator[None]:
    """Raise these AWS codes as transient: they clear once another resource is gone.

    DependencyViolation is terminal by default (a request that can never work), but while
    a stack is torn down in reverse order it only means a dependent is still going away
    (a NAT gateway takes minutes to release its subnet and address).
    """
    try:
        yield
    except ClientError as err:
        if error_code(err) in set(codes):
            raise TransientError(error_message(err), error_code(err)) from err
        raise
