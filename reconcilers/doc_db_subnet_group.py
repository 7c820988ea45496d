"""The DocumentDB subnet group kind: the private subnets a cluster's instances live in.

A subnet group has a fixed name and DocumentDB cannot filter by tag, so observation is one
paginated DescribeDBSubnetGroups and one ListTagsForResource for each group that could be
ours: desired by name, or named "{stack}-..." (see `_docdb.candidates` for the trade-off:
other groups in the account are never read, and a group named outside that scheme is not
found as an orphan). A group of a desired name without our tags is someone else's and is
observed as not owned, never changed.

Risks and where they are handled:
  - CreateDBSubnetGroup takes no client token: the group is tagged in the create call, so
    an "already exists" after a lost answer is recognised by its `plumb:id` and adopted
    (`DocDbKind.create_or_adopt`); moto replaced the group instead, and is patched to
    answer as AWS does (plumb_embedded/moto_compat/docdb.py).
  - ModifyDBSubnetGroup always takes the whole subnet list, so description and subnets
    are written in one call that carries the desired list.
  - A group a cluster still uses cannot be deleted (InvalidDBSubnetGroupStateFault): that
    is transient, it clears once the cluster is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.aws.context import Context
from controller.kinds.errors import ignoring
from controller.kinds.iam_scope import Scope, arn, but, tagging
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._docdb import TAG_ACTIONS as DOCDB_TAGS
from reconcilers._docdb import DocDbKind, Raw, observed, sync_tags
from reconcilers._ec2 import transient_on

# Mirrors the schema's default, for a resource made without schema defaults applied.
DEFAULT_DESCRIPTION = "DocumentDB subnets, managed by plumb"
_IN_USE = "InvalidDBSubnetGroupStateFault"

_GROUP = arn("rds", "subgrp:{name}")


@register
class DocDbSubnetGroup(DocDbKind):
    """A DocumentDB subnet group with a fixed name, found by its ownership tags."""

    kind = "DocDbSubnetGroup"
    iam_actions = (
        "rds:DescribeDBSubnetGroups",
        "rds:CreateDBSubnetGroup",
        "rds:ModifyDBSubnetGroup",
        "rds:DeleteDBSubnetGroup",
        *DOCDB_TAGS,
    )
    iam_scopes = (
        Scope(but(iam_actions, "rds:DescribeDBSubnetGroups", *DOCDB_TAGS), (_GROUP,)),
        *tagging("rds:AddTagsToResource", "rds:RemoveTagsFromResource", (_GROUP,)),
    )
    describe_op, list_key = "describe_db_subnet_groups", "DBSubnetGroups"
    name_key, arn_key = "DBSubnetGroupName", "DBSubnetGroupArn"
    name_field = "name"
    exists_code = "DBSubnetGroupAlreadyExists"
    requires = ("Subnet",)
    not_found_codes = frozenset({"DBSubnetGroupNotFoundFault"})
    terminal_codes = frozenset(
        {
            "DBSubnetGroupQuotaExceeded",
            "DBSubnetQuotaExceededFault",
            "DBSubnetGroupDoesNotCoverEnoughAZs",
            "InvalidSubnet",
            "SubnetAlreadyInUse",
        }
    )

    def to_observed(
        self, raw: Raw, tags: dict[str, str], logical_id: str, ctx: Context
    ) -> Observed:
        return observed(
            self.kind,
            logical_id,
            str(raw["DBSubnetGroupName"]),
            ctx,
            spec=_spec(raw),
            attrs=_attrs(raw),
            tags=tags,
        )

    def create(self, desired: Resource, ctx: Context) -> Observed:
        def create() -> Observed:
            out = ctx.docdb.create_db_subnet_group(
                DBSubnetGroupName=self.physical_name(desired),
                DBSubnetGroupDescription=desired.spec.get("description", DEFAULT_DESCRIPTION),
                SubnetIds=sorted(desired.spec["subnetIds"]),
                Tags=ctx.tag_list(desired),
            )["DBSubnetGroup"]
            tags = desired.ownership_tags()
            return self.to_observed(out, tags, desired.logical_id, ctx)

        return self.create_or_adopt(desired, ctx, create)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        if diff.changed("description") or diff.changed("subnetIds"):
            _modify(ctx, observed, desired.spec, diff)
        if diff.changed("tags"):
            sync_tags(ctx, observed.attrs["arn"], observed.tags, desired.ownership_tags())
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # In use by a cluster that is still going away: the next run tries again.
        with ignoring(self.not_found_codes), transient_on({_IN_USE}):
            ctx.docdb.delete_db_subnet_group(DBSubnetGroupName=observed.physical_id)


def _modify(ctx: Context, observed: Observed, spec: Mapping[str, Any], diff: Diff) -> None:
    """One ModifyDBSubnetGroup; the API wants the subnet list even for a new description."""
    subnets = spec["subnetIds"] if "subnetIds" in spec else observed.spec["subnetIds"]
    extra = {}
    if diff.changed("description"):
        extra["DBSubnetGroupDescription"] = spec.get("description", DEFAULT_DESCRIPTION)
    ctx.docdb.modify_db_subnet_group(
        DBSubnetGroupName=observed.physical_id, SubnetIds=sorted(subnets), **extra
    )


def _spec(raw: Raw) -> dict[str, Any]:
    return {
        "name": raw["DBSubnetGroupName"],
        "description": raw.get("DBSubnetGroupDescription", ""),
        "subnetIds": sorted(s["SubnetIdentifier"] for s in raw.get("Subnets") or []),
    }


def _attrs(raw: Raw) -> dict[str, Any]:
    name = raw["DBSubnetGroupName"]
    return {"id": name, "name": name, "arn": raw["DBSubnetGroupArn"]}
