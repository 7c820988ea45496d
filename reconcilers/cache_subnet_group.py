"""The ElastiCache cache subnet group kind: the private subnets a Redis group is placed in.

What makes it risky, and where it is handled:
  - ElastiCache has no tag filter and lists groups without tags, so ownership costs one
    ListTagsForResource per group. Only groups desired by name or named "{stack}-..." are
    read (`_ownership.could_be_ours`, which says the trade-off); a group of a desired name
    without our tags is someone else's and is observed as `owned=False`, never taken over.
  - The name is the only key and AWS has no client token: a create whose answer was lost
    meets CacheSubnetGroupAlreadyExists on the retry, and a group carrying our `plumb:id`
    is adopted (`adopt_own`) instead of failing.
  - A group still used by a cache cluster cannot be deleted (CacheSubnetGroupInUse): that
    is transient, as the Redis group that used it may still be going away.
moto 5.2.5 lacks DeleteCacheSubnetGroup and ModifyCacheSubnetGroup; plumb_embedded/moto_compat/
elasticache.py adds them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.errors import error_code, ignoring
from controller.kinds.iam_scope import Scope, arn, but, tagging
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._elasticache import SERVICE, TAGS, Raw, read_tags
from reconcilers._elasticache import TAG_ACTIONS as CACHE_TAGS
from reconcilers._ownership import by_owner, could_be_ours, tagged

_NOT_FOUND = "CacheSubnetGroupNotFoundFault"
_TAKEN = "CacheSubnetGroupAlreadyExists"
_ACTIONS = (
    "elasticache:DescribeCacheSubnetGroups",
    "elasticache:CreateCacheSubnetGroup",
    "elasticache:ModifyCacheSubnetGroup",
    "elasticache:DeleteCacheSubnetGroup",
    *CACHE_TAGS,
)
_GROUP = arn("elasticache", "subnetgroup:{name}")


@register
class CacheSubnetGroup(BaseReconciler):
    """A cache subnet group with a fixed name, found by its ownership tags."""

    descriptor = Descriptor(
        "CacheSubnetGroup",
        SERVICE,
        not_found_codes=frozenset({_NOT_FOUND}),
        # CacheSubnetGroupInUse is left out on purpose: it clears once the user is gone.
        terminal_codes=frozenset(
            {
                _TAKEN,
                "CacheSubnetGroupQuotaExceeded",
                "CacheSubnetQuotaExceededFault",
                "InvalidSubnet",
                "SubnetNotAllowedFault",
            }
        ),
        requires=("Subnet",),
        iam=Grants(
            actions=_ACTIONS,
            scopes=(
                Scope(
                    but(_ACTIONS, "elasticache:DescribeCacheSubnetGroups", *CACHE_TAGS), (_GROUP,)
                ),
                *tagging(
                    "elasticache:AddTagsToResource", "elasticache:RemoveTagsFromResource", (_GROUP,)
                ),
            ),
        ),
        tags=TAGS,
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["name"])

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        groups = ctx.describe("elasticache", "describe_cache_subnet_groups", "CacheSubnetGroups")
        return self._sort(ctx, groups, desired)

    def observe_one(self, desired: Resource, ctx: Context, physical_id: str = "") -> Observed:
        """One group by name: cheaper than listing them all after a write."""
        name = physical_id or str(desired.spec["name"])
        groups: list[Raw] = []
        with ignoring({_NOT_FOUND}):
            out = ctx.elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=name)
            groups = out.get("CacheSubnetGroups", [])
        found = self._sort(ctx.only({desired.stack}), groups, [desired])
        return self.must_see(found.get(desired.logical_id), desired)

    def _sort(
        self, ctx: Context, groups: Sequence[Raw], desired: Sequence[Resource]
    ) -> dict[str, Observed]:
        wanted = {str(r.spec["name"]): r for r in desired}
        listed = tagged(
            groups,
            lambda group: str(group["CacheSubnetGroupName"]),
            partial(could_be_ours, ctx, wanted=wanted),
            lambda group: read_tags(ctx, group["ARN"], {_NOT_FOUND}),
        )
        return by_owner(ctx, listed, wanted, partial(_observed, ctx=ctx))

    def create(self, desired: Resource, ctx: Context) -> Observed:
        spec = desired.spec
        try:
            out = ctx.elasticache.create_cache_subnet_group(
                CacheSubnetGroupName=spec["name"],
                CacheSubnetGroupDescription=spec["description"],
                SubnetIds=sorted(spec["subnetIds"]),
                Tags=ctx.tag_list(desired),
            )["CacheSubnetGroup"]
        except ClientError as err:
            if error_code(err) != _TAKEN:
                raise
            return self.adopt_own(desired, ctx, err)
        return _observed(desired.logical_id, out, desired.ownership_tags(), ctx=ctx)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        if diff.changed("description") or diff.changed("subnetIds"):
            _modify(ctx, observed.physical_id, desired.spec, diff)
        if diff.changed("tags"):
            self.sync_tags(ctx, observed.attrs["arn"], observed, desired)
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        with self.deleting():
            ctx.elasticache.delete_cache_subnet_group(CacheSubnetGroupName=observed.physical_id)


def _modify(ctx: Context, name: str, spec: Mapping[str, Any], diff: Diff) -> None:
    """One ModifyCacheSubnetGroup carrying only what drifted."""
    changes: dict[str, Any] = {}
    if diff.changed("description"):
        changes["CacheSubnetGroupDescription"] = spec["description"]
    if diff.changed("subnetIds"):
        changes["SubnetIds"] = sorted(spec["subnetIds"])
    ctx.elasticache.modify_cache_subnet_group(CacheSubnetGroupName=name, **changes)


def _observed(
    logical_id: str,
    group: Raw,
    tags: Mapping[str, str],
    desired: Resource | None = None,
    *,
    ctx: Context,
) -> Observed:
    name = str(group["CacheSubnetGroupName"])
    return Observed(
        kind=CacheSubnetGroup.kind,
        logical_id=logical_id,
        physical_id=name,
        spec={
            "name": name,
            "description": group.get("CacheSubnetGroupDescription", ""),
            "subnetIds": sorted(s["SubnetIdentifier"] for s in group.get("Subnets", [])),
        },
        attrs={"id": name, "name": name, "arn": group["ARN"]},
        tags=dict(tags),
        region=ctx.region,
    )
