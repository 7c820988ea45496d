"""What the ELBv2 kinds (load balancer, target group, listener) share.

ELBv2 describe calls take no tag filter: ownership is read with DescribeTags, which takes
at most 20 ARNs per call, and is checked client-side. Every kind is observed the same
way: list everything of the kind (one paginated describe), read the tags in batches of
20, keep what a stack in scope owns (grouped by `plumb:id`), and report what a desired
resource would collide with (a load balancer or target group of the same name, a
listener on the same port) as `Observed(owned=False)`. Names are unique per account and
region, so a create whose answer was lost is found again by its name and adopted when it
carries the resource's own `plumb:id`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.errors import ERR_CREATE, TerminalError
from controller.kinds.base import BaseReconciler
from controller.kinds.errors import error_code, error_message
from controller.kinds.fields import schema_defaults
from controller.kinds.tags import tag_delta, to_dict, to_list
from controller.model import TAG_ID, Diff, Observed, Resource

Raw = Mapping[str, Any]
TAG_BATCH = 20  # DescribeTags takes at most 20 resource ARNs per call
# What every ELBv2 kind calls to list load balancers and read and sync tags; a create that
# carries tags needs elasticloadbalancing:AddTags as well.
SHARED_ACTIONS = (
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:RemoveTags",
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


def load_balancers(ctx: Context, arns: Sequence[str] = ()) -> list[Tagged]:
    """Every load balancer in the region (or the ones named), with its tags. The load
    balancer kind observes with it, and the listener kind to find the load balancers whose
    listeners it reads (listeners cannot be listed by tag)."""
    where = {"LoadBalancerArns": list(arns)} if arns else {}
    listed = ctx.describe("elbv2", "describe_load_balancers", "LoadBalancers", **where)
    return tagged(ctx, listed, "LoadBalancerArn")


def arn_suffix(arn: str, marker: str) -> str:
    """The part of an ARN after `marker`: CloudWatch's LoadBalancer/TargetGroup dimension."""
    return arn.split(marker, 1)[1] if marker in arn else ""


def attribute_map(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {str(a["Key"]): str(a.get("Value", "")) for a in items or ()}


def as_bool(value: str | None) -> bool | None:
    return None if value is None else value.lower() == "true"


def as_int(value: str | None) -> int | None:
    return None if value in (None, "") else int(str(value))


def defaults(kind: str, *path: str) -> dict[str, Any]:
    return schema_defaults(kind, *path)


# -- writing --------------------------------------------------------------------------


def sync_tags(ctx: Context, arn: str, have: Mapping[str, str], want: Mapping[str, str]) -> None:
    """Set the missing and changed tags, remove the extra ones; `aws:` tags are left alone."""
    to_set, to_remove = tag_delta(have, want)
    if to_set:
        ctx.elbv2.add_tags(ResourceArns=[arn], Tags=to_list(to_set))
    if to_remove:
        ctx.elbv2.remove_tags(ResourceArns=[arn], TagKeys=to_remove)


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

    A subclass lists its items (`_list`, `_list_arn`), says what makes an item unique in
    AWS (`identity`: the fields of the spec and the matching values of an item), and maps
    one item to an Observed (`_to_observed`).
    """

    service = "elbv2"
    identity: ClassVar[tuple[str, ...]] = ("name",)

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        return self._sort(ctx, self._list(ctx, desired), desired)

    def observe_one(self, desired: Resource, ctx: Context, physical_id: str = "") -> Observed:
        """After a write: one describe of that ARN instead of the whole listing."""
        if not physical_id:
            return super().observe_one(desired, ctx)
        scoped = ctx.only({desired.stack})
        found = self._sort(scoped, self._list_arn(scoped, physical_id), [desired])
        return self.must_see(found.get(desired.logical_id), desired)

    def _list(self, ctx: Context, desired: Sequence[Resource]) -> list[Tagged]:
        raise NotImplementedError

    def _list_arn(self, ctx: Context, arn: str) -> list[Tagged]:
        raise NotImplementedError

    def _identity_of(self, raw: Raw) -> tuple[Hashable, ...]:
        raise NotImplementedError

    def _to_observed(
        self, item: Tagged, logical_id: str, ctx: Context, desired: Resource | None
    ) -> Observed:
        """`desired` is given for an owned item the run wants: only then are details read."""
        raise NotImplementedError

    def wanted_identity(self, res: Resource) -> tuple[Hashable, ...] | None:
        """What the desired resource would collide with; None while a reference is unresolved."""
        values = tuple(res.spec.get(f) for f in self.identity)
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
            item = by_identity.get(want) if want is not None else None
            if item is not None and res.logical_id not in found:
                # Same name (or port) without this resource's tags: never taken over.
                foreign = self._to_observed(item, res.logical_id, ctx, None)
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
        if found is not None and found.owned and _identity(found, self.identity) == want:
            return found
        raise self._refused(desired, error_code(err), error_message(err))

    def claimed(self, desired: Resource, ctx: Context, arn: str) -> dict[str, str]:
        """The tags of what a create answered with. AWS answers a create with the same
        settings as an existing resource with that resource: ours (a lost answer) when it
        carries this resource's `plumb:id`, else someone else's, never taken over."""
        tags = tags_of(ctx, [arn]).get(arn, {})
        if tags.get(TAG_ID) != desired.logical_id:
            raise self._refused(desired, "AlreadyExists", f"{arn} exists with these settings")
        return tags

    def _refused(self, desired: Resource, code: str, message: str) -> TerminalError:
        message = f"{message}; it is not this resource's (no {TAG_ID} tag of it)"
        return TerminalError(
            ERR_CREATE.format(
                kind=self.kind, logical_id=desired.logical_id, code=code, message=message
            ),
            code,
        )


def _identity(found: Observed, fields: tuple[str, ...]) -> tuple[Hashable, ...]:
    return tuple(found.spec.get(f) for f in fields)


def observed(
    kind: str,
    item: Tagged,
    logical_id: str,
    ctx: Context,
    *,
    spec: Mapping[str, Any],
    attrs: Mapping[str, Any],
    ready: bool = True,
    warnings: tuple[str, ...] = (),
) -> Observed:
    return Observed(
        kind=kind,
        logical_id=logical_id,
        physical_id=item.arn,
        spec=dict(spec),
        attrs={"id": item.arn, "arn": item.arn, **attrs},
        tags=dict(item.tags),
        ready=ready,
        region=ctx.region,
        warnings=warnings,
    )
