"""What the EC2 network kinds share: one tag-filtered describe per kind, the service's tag
calls, the shape of their IAM, and the error codes that only mean "something else has to
go first".

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

from controller.aws.context import Context
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Grants
from controller.kinds.iam_scope import Scope, arn
from controller.kinds.tags import TagApi, to_dict
from controller.model import TAG_ID, Diff, Observed, Resource

Raw = Mapping[str, Any]
SERVICE = "ec2"
# CreateTags and DeleteTags take a list of resources; DeleteTags names the keys as pairs.
TAGS = TagApi(
    "create_tags", "delete_tags", "Resources", many=True, keys_param="Tags", keys_as_pairs=True
)
# Every EC2 kind tags on create (TagSpecifications needs ec2:CreateTags too) and syncs tags.
TAG_ACTIONS = ("ec2:CreateTags", "ec2:DeleteTags")
# What a delete meets while a dependent is still going away.
IN_USE = frozenset({"DependencyViolation"})


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


def grants(
    resource_type: str,
    create: str,
    actions: tuple[str, ...],
    *more: Scope,
    parents: tuple[str, ...] = (),
) -> Grants:
    """The IAM of an EC2 kind: `create` makes a `resource_type` (tagged in the same call)
    inside the `parents` plumb owns; every other write acts on a resource of its own; the
    reads (Describe*) cannot be scoped; `more` scopes what is particular to the kind."""
    where = (ec2_arn(resource_type),)
    writes = tuple(a for a in actions if a != create and not a.startswith("ec2:Describe"))
    scopes = [Scope((create,), where, ("created",))]
    if parents:
        scopes.append(Scope((create,), tuple(ec2_arn(p) for p in parents), ("owned",)))
    scopes.append(Scope(writes, where, ("owned",)))
    return Grants(
        actions=(*actions, *TAG_ACTIONS),
        scopes=(*scopes, *more, *tag_scopes(resource_type, create.removeprefix("ec2:"))),
    )


class Ec2Kind(BaseReconciler):
    """A kind read with one `describe_*` call; subclasses say which and map one item
    (`spec_of`, `attrs_of`, `ready_of`), and write what drifted besides tags (`modify`)."""

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
            lid: with_alternates([self._to_observed(r, ctx) for r in group])
            for lid, group in owned_groups(ctx, items, self.id_key).items()
        }

    def _describe(self, ctx: Context, filters: list[dict[str, Any]]) -> list[Raw]:
        return ctx.describe(SERVICE, self.describe_op, self.list_key, Filters=filters)

    def _to_observed(self, raw: Raw, ctx: Context, logical_id: str = "") -> Observed:
        """An item as plumb sees it; `logical_id` names one that carries no `plumb:id`."""
        tags = to_dict(raw.get("Tags"))
        return Observed(
            self.kind,
            logical_id or tags[TAG_ID],
            str(raw[self.id_key]),
            self.spec_of(raw),
            self.attrs_of(raw),
            tags,
            ready=self.ready_of(raw),
            region=ctx.region,
        )

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        raise NotImplementedError

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        raise NotImplementedError

    def ready_of(self, raw: Raw) -> bool:
        return True

    def created(
        self,
        desired: Resource,
        ctx: Context,
        raw: Raw,
        spec: Mapping[str, Any] | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> Observed:
        """The Observed of a resource just made: what AWS answered (`raw`, read as an item
        unless `spec` or `attrs` say more) plus what plumb wrote.

        Built from the responses rather than read back, because EC2 reads are eventually
        consistent: a describe right after a create may not see it yet.
        """
        return Observed(
            self.kind,
            desired.logical_id,
            str(raw[self.id_key]),
            dict(self.spec_of(raw) if spec is None else spec),
            dict(self.attrs_of(raw) if attrs is None else attrs),
            desired.ownership_tags(),
            ready=self.ready_of(raw),
            region=ctx.region,
        )

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        self.modify(desired, observed, diff, ctx)
        if diff.changed("tags"):
            self.sync_tags(ctx, observed.physical_id, observed, desired)
        return self.observe_one(desired, ctx, observed.physical_id)

    def modify(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> None:
        """Write what drifted besides tags; a kind whose other fields are all immutable
        has nothing to write."""

    @contextlib.contextmanager
    def deleting(self, waits_on: Iterable[str] = IN_USE) -> Iterator[None]:
        """EC2's deletes wait on what still uses the resource (IN_USE) by default."""
        with super().deleting(waits_on):
            yield


def id_filter(id_key: str) -> str:
    """EC2's filter name for an id field: "RouteTableId" -> "route-table-id"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", id_key).lower()


def owned_groups(ctx: Context, items: Iterable[Raw], id_key: str) -> dict[str, list[Raw]]:
    """The items a stack in scope owns, by logical id, each group lowest physical id first
    (so the choice among them is stable across runs)."""
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
