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
    (`DocDbKind.create`); moto replaced the group instead, and is patched to
    answer as AWS does (plumb_embedded/moto_compat/docdb.py).
  - ModifyDBSubnetGroup always takes the whole subnet list, so description and subnets
    are written in one call that carries the desired list.
  - A group a cluster still uses cannot be deleted (InvalidDBSubnetGroupStateFault): that
    is transient, it clears once the cluster is gone.
"""

from __future__ import annotations

from typing import Any

from controller.aws.context import Context
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.iam_scope import Scope, arn, but, tagging
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._docdb import SERVICE, TAGS, DocDbKind, Raw
from reconcilers._docdb import TAG_ACTIONS as DOCDB_TAGS

_IN_USE = "InvalidDBSubnetGroupStateFault"
_ACTIONS = (
    "rds:DescribeDBSubnetGroups",
    "rds:CreateDBSubnetGroup",
    "rds:ModifyDBSubnetGroup",
    "rds:DeleteDBSubnetGroup",
    *DOCDB_TAGS,
)
_GROUP = arn("rds", "subgrp:{name}")


@register
class DocDbSubnetGroup(DocDbKind):
    """A DocumentDB subnet group with a fixed name, found by its ownership tags."""

    descriptor = Descriptor(
        "DocDbSubnetGroup",
        SERVICE,
        not_found_codes=frozenset({"DBSubnetGroupNotFoundFault"}),
        terminal_codes=frozenset(
            {
                "DBSubnetGroupQuotaExceeded",
                "DBSubnetQuotaExceededFault",
                "DBSubnetGroupDoesNotCoverEnoughAZs",
                "InvalidSubnet",
                "SubnetAlreadyInUse",
            }
        ),
        requires=("Subnet",),
        iam=Grants(
            actions=_ACTIONS,
            scopes=(
                Scope(but(_ACTIONS, "rds:DescribeDBSubnetGroups", *DOCDB_TAGS), (_GROUP,)),
                *tagging("rds:AddTagsToResource", "rds:RemoveTagsFromResource", (_GROUP,)),
            ),
        ),
        tags=TAGS,
    )
    describe_op, list_key = "describe_db_subnet_groups", "DBSubnetGroups"
    name_key, arn_key = "DBSubnetGroupName", "DBSubnetGroupArn"
    name_field = "name"
    exists_code = "DBSubnetGroupAlreadyExists"
    create_op, item_key = "create_db_subnet_group", "DBSubnetGroup"
    modify_op, apply_now = "modify_db_subnet_group", False

    def create_args(self, desired: Resource, ctx: Context) -> dict[str, Any]:
        return {
            "DBSubnetGroupName": self.physical_name(desired),
            "DBSubnetGroupDescription": desired.spec["description"],
            "SubnetIds": sorted(desired.spec["subnetIds"]),
            "Tags": ctx.tag_list(desired),
        }

    def modifications(self, desired: Resource, observed: Observed, diff: Diff) -> dict[str, Any]:
        """The API wants the subnet list even for a new description."""
        if not (diff.changed("description") or diff.changed("subnetIds")):
            return {}
        spec = desired.spec
        subnets = spec["subnetIds"] if "subnetIds" in spec else observed.spec["subnetIds"]
        out = {"SubnetIds": sorted(subnets)}
        if diff.changed("description"):
            out["DBSubnetGroupDescription"] = spec["description"]
        return out

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        return {
            "name": raw["DBSubnetGroupName"],
            "description": raw.get("DBSubnetGroupDescription", ""),
            "subnetIds": sorted(s["SubnetIdentifier"] for s in raw.get("Subnets") or []),
        }

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        name = raw["DBSubnetGroupName"]
        return {"id": name, "name": name, "arn": raw["DBSubnetGroupArn"]}

    def delete(self, observed: Observed, ctx: Context) -> None:
        # In use by a cluster that is still going away: the next run tries again.
        with self.deleting({_IN_USE}):
            ctx.docdb.delete_db_subnet_group(DBSubnetGroupName=observed.physical_id)
