"""What the ELBv2 kinds (load balancer, target group, listener) share.

ELBv2 describe calls take no tag filter: ownership is read with DescribeTags, which takes
at most 20 ARNs per call, and is checked client-side. Every kind is observed the same
way: list everything of the kind (one paginated describe), read the tags in batches of
20, keep what a stack in scope owns (grouped by `plumb:id`), and report what a desired
resource would collide with (a load balancer or target group of the same name, a
listener on the same port) as `Observed(owned=False)`. Names are unique per account and
region, so a create whose answer was lost is found again by its name and adopted when it
carries the resource's own `plumb:id`. Tags are set and removed by AddTags and RemoveTags,
declared once here (`TAGS`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.errors import TerminalError
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Grants
from controller.kinds.errors import error_code, error_message
from controller.kinds.iam_scope import Scope, tagging
from controller.kinds.tags import TagApi, to_dict
from controller.model import TAG_ID, Diff, Observed, Resource
from reconcilers._ownership import not_ours

Raw = Mapping[str, Any]
SERVICE = "elbv2"
TAGS = TagApi("add_tags", "remove_tags", "ResourceArns", many=True)
# Refused by every ELBv2 call that sets a resource up or tags it.
TERMINAL = frozenset({"InvalidConfigurationRequest", "DuplicateTagKeys", "TooManyTags"})
TAG_BATCH = 20  # DescribeTags takes at most 20 resource ARNs per call
# What every ELBv2 kind calls to list load balancers and read and sync tags; a create that
# carries tags needs elasticloadbalancing:AddTags as well.
SHARED_ACTIONS = (
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:RemoveTags",
)


def grants(
    actions: tuple[str, ...],
    tagged_on: str,
    *scopes: Scope,
    service_linked_roles: tuple[str, ...] = (),
) -> Grants:
    """The IAM of an ELBv2 kind: its `actions` and the shared ones. Its writes apply where
    `scopes` say, by default all of them (every action but a Describe*) on `tagged_on`, the
    ARN its tag calls are held to as well."""
    writes = tuple(a for a in actions if ":Describe" not in a)
    return Grants(
        actions=(*actions, *SHARED_ACTIONS),
        scopes=(
            *(scopes or (Scope(writes, (tagged_on,)),)),
            *tagging(
                "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags", (tagged_on,)
            ),
        ),
        service_linked_roles=service_linked_roles,
    )


@dataclasses.dataclass(frozen=True)
class Tagged:
    """One described item with its ARN and its tags (read separately on ELBv2)."""

    raw: Raw
    arn: str
    tags: dict[str, str]


# -- reading --------------------------------------------------------------------------


def tags_of(ctx: Context, arns: Sequence[str]) -> dict[str, dict[str, str]]:
    """Tags by ARN, in batches of 20 ARNs (the API's limit); an item never listed is absent."""
    out: dict[str, dict[str, str]] = {}
    for start in range(0, len(arns), TAG_BATCH):
        batch = list(arns[start : start + TAG_BATCH])
        for item in ctx.elbv2.describe_tags(ResourceArns=batch)["TagDescriptions"]:
            out[str(item["ResourceArn"])] = to_dict(item.get("Tags"))
    return out


def tagged(ctx: Context, items: Iterable[Raw], arn_key: str) -> list[Tagged]:
    listed = list(items)
    tags = tags_of(ctx, [str(raw[arn_key]) for raw in listed])
    return [Tagged(raw, str(raw[arn_key]), tags.get(str(raw[arn_key]), {})) for raw in listed]


def attribute_map(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {str(a["Key"]): str(a.get("Value", "")) for a in items or ()}


def as_int(value: str | None) -> int | None:
    return None if value in (None, "") else int(str(value))


def changed_keys(diff: Diff, field: str, named: Iterable[str]) -> list[str]:
    """Keys of the object `field` that the diff names; all `named` when the whole object
    differs (it was absent or unknown)."""
    prefix = field + "."
    keys = [
        c.path[len(prefix) :].split(".", 1)[0] for c in diff.changes if c.path.startswith(prefix)
    ]
    if diff.changed(field) and not keys:
        keys = list(named)
    return sorted(set(keys))


# -- the shared observe ----------------------------------------------------------------


class ElbKind(BaseReconciler):
    """An ELBv2 kind: list, read tags in batches, group by `plumb:id`, report collisions.

    A subclass names its describe call (`describe_op`, its `list_key` and the items'
    `arn_key`), says what makes an item unique in AWS (`identity`: pairs of a spec field and
    the item's key holding it), maps one item to an Observed (`_to_observed`), makes one
    (`create_item`, answered `exists_code` when its identity is taken) and writes what
    drifted besides tags (`modify`).
    """

    describe_op: ClassVar[str]  # "describe_target_groups"
    list_key: ClassVar[str]  # "TargetGroups"
    arn_key: ClassVar[str]  # "TargetGroupArn"; the describe takes a list as "TargetGroupArns"
    exists_code: ClassVar[str]  # "DuplicateTargetGroupName"
    attributes_op: ClassVar[str] = ""  # "describe_target_group_attributes"
    identity: ClassVar[tuple[tuple[str, str], ...]]  # (("name", "TargetGroupName"),)

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        return self._sort(ctx, self._list(ctx, desired), desired)

    def observe_one(self, desired: Resource, ctx: Context, physical_id: str = "") -> Observed:
        """After a write: one describe of that ARN instead of the whole listing."""
        if not physical_id:
            return super().observe_one(desired, ctx)
        scoped = ctx.only({desired.stack})
        found = self._sort(scoped, self._listed(scoped, [physical_id]), [desired])
        return self.must_see(found.get(desired.logical_id), desired)

    def physical_name(self, desired: Resource) -> str:
        """A load balancer's or target group's name; "" for a listener (AWS picks its id)."""
        return str(desired.spec["name"]) if "name" in dict(self.identity) else ""

    def _list(self, ctx: Context, desired: Sequence[Resource]) -> list[Tagged]:
        return self._listed(ctx)

    def _listed(self, ctx: Context, arns: Sequence[str] = ()) -> list[Tagged]:
        """Every item of the kind in the region (or the ones named), with its tags."""
        where = {f"{self.arn_key}s": list(arns)} if arns else {}
        listed = ctx.describe(SERVICE, self.describe_op, self.list_key, **where)
        return tagged(ctx, listed, self.arn_key)

    def attributes_of(self, ctx: Context, arn: str) -> dict[str, str]:
        """The attributes its describe does not report, by key (one call)."""
        out = getattr(ctx.elbv2, self.attributes_op)(**{self.arn_key: arn})
        return attribute_map(out["Attributes"])

    def _identity_of(self, raw: Raw) -> tuple[Hashable, ...]:
        return tuple(raw[key] for _, key in self.identity)

    def _to_observed(
        self, item: Tagged, logical_id: str, ctx: Context, desired: Resource | None
    ) -> Observed:
        """`desired` is given for an owned item the run wants: only then are details read."""
        raise NotImplementedError

    def create_item(self, desired: Resource, ctx: Context) -> Raw:
        """The create call, tagged: the item it answers with."""
        raise NotImplementedError

    def made(self, desired: Resource, ctx: Context, item: Tagged) -> Observed:
        """What a create made, once it is known to be this resource's: the item as
        answered, and what the kind writes after the create."""
        return self._to_observed(item, desired.logical_id, ctx, None)

    def modify(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> None:
        """Write what drifted besides tags."""

    def create(self, desired: Resource, ctx: Context) -> Observed:
        """AWS answers a create with the same settings as an existing resource with that
        resource (`claimed` checks it is ours), other settings with `exists_code` (`adopt`)."""
        try:
            out = self.create_item(desired, ctx)
        except ClientError as err:
            if error_code(err) != self.exists_code:
                raise
            return self.adopt(desired, ctx, err)
        arn = str(out[self.arn_key])
        return self.made(desired, ctx, Tagged(out, arn, self.claimed(desired, ctx, arn)))

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        self.modify(desired, observed, diff, ctx)
        if diff.changed("tags"):
            self.sync_tags(ctx, observed.physical_id, observed, desired)
        return self.observe_one(desired, ctx, observed.physical_id)

    def wanted_identity(self, res: Resource) -> tuple[Hashable, ...] | None:
        """What the desired resource would collide with; None while a reference is unresolved."""
        values = tuple(res.spec.get(field) for field, _ in self.identity)
        return values if all(isinstance(v, str | int) for v in values) else None

    def _sort(
        self, ctx: Context, items: list[Tagged], desired: Sequence[Resource]
    ) -> dict[str, Observed]:
        by_id = {r.logical_id: r for r in desired}
        groups: dict[str, list[Tagged]] = {}
        for item in items:
            if ctx.owns(item.tags):
                groups.setdefault(item.tags[TAG_ID], []).append(item)
        found = {
            lid: self._pick(ctx, lid, group, by_id.get(lid))
            for lid, group in sorted(groups.items())
        }
        by_identity = {self._identity_of(item.raw): item for item in items}
        for res in desired:
            want = self.wanted_identity(res)
            same = by_identity.get(want) if want is not None else None
            if same is not None and res.logical_id not in found:
                # Same name (or port) without this resource's tags: never taken over.
                foreign = self._to_observed(same, res.logical_id, ctx, None)
                found[res.logical_id] = dataclasses.replace(foreign, owned=False)
        return found

    def _pick(self, ctx: Context, lid: str, group: list[Tagged], res: Resource | None) -> Observed:
        """One item per logical id: the one the spec names, else the lowest ARN (stable)."""
        want = self.wanted_identity(res) if res is not None else None
        group.sort(key=lambda t: (self._identity_of(t.raw) != want, t.arn))
        chosen = self._to_observed(group[0], lid, ctx, res)
        if len(group) == 1:
            return chosen
        others = ", ".join(t.arn for t in group[1:])
        note = (
            f"{others} also carry {TAG_ID}={lid}; plumb manages {chosen.physical_id} only: "
            "delete the others by hand"
        )
        return dataclasses.replace(chosen, warnings=(*chosen.warnings, note))

    def adopt(self, desired: Resource, ctx: Context, err: ClientError) -> Observed:
        """The create answered "already exists": a create of ours whose answer was lost is
        adopted; anything else under that identity is someone else's and stops here."""
        found = self.observe([desired], ctx.only({desired.stack})).get(desired.logical_id)
        want = self.wanted_identity(desired)
        have = tuple(found.spec.get(field) for field, _ in self.identity) if found else None
        if found is not None and found.owned and have == want:
            return found
        raise self._refused(desired, error_code(err), error_message(err))

    def claimed(self, desired: Resource, ctx: Context, arn: str) -> dict[str, str]:
        """The tags of what a create answered with: ours (a lost answer's) when it carries
        this resource's `plumb:id`, else someone else's, never taken over."""
        tags = tags_of(ctx, [arn]).get(arn, {})
        if tags.get(TAG_ID) != desired.logical_id:
            raise self._refused(desired, "AlreadyExists", f"{arn} exists with these settings")
        return tags

    def observed(
        self,
        item: Tagged,
        logical_id: str,
        ctx: Context,
        spec: Mapping[str, Any],
        attrs: Mapping[str, Any],
        ready: bool = True,
        warnings: tuple[str, ...] = (),
    ) -> Observed:
        """An item as plumb sees it: its ARN is its id."""
        attrs = {"id": item.arn, "arn": item.arn, **attrs}
        return Observed(
            self.kind,
            logical_id,
            item.arn,
            dict(spec),
            attrs,
            dict(item.tags),
            ready=ready,
            region=ctx.region,
            warnings=warnings,
        )

    def _refused(self, desired: Resource, code: str, message: str) -> TerminalError:
        message = f"{message}; it is not this resource's (no {TAG_ID} tag of it)"
        return not_ours(self.kind, desired, code, message)
