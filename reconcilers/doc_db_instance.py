"""The DocumentDB instance kind: one compute node of a cluster.

An instance holds no data of its own (the cluster's storage does), so deleting one loses
nothing and takes no snapshot. Its risks and where they are handled:
  - CreateDBInstance takes no client token: the instance is tagged in the create call and
    an "already exists" for an instance carrying our `plumb:id` is adopted
    (`DocDbKind.create_or_adopt`).
  - DescribeDBInstances also lists RDS and Neptune instances, so it is filtered on the
    engine; tags cost one read per instance that could be ours (`_docdb.candidates`).
  - A new instance class is applied at once (ApplyImmediately): the instance restarts,
    which is what a spec change asks for; waiting for the maintenance window would show
    the same drift on every run until then.
States: available is ready, deleting is absent, everything else (creating, modifying,
rebooting, ...) is not ready.
"""

from __future__ import annotations

from typing import Any

from controller.aws.context import Context
from controller.kinds.errors import ignoring
from controller.kinds.iam_scope import Scope, arn, tagging
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._docdb import ENGINE, ENGINE_FILTER, DocDbKind, Raw, observed, sync_tags
from reconcilers._docdb import TAG_ACTIONS as DOCDB_TAGS

# Spec field -> ModifyDBInstance parameter, for the fields an update may change.
_MODIFIABLE = {
    "instanceClass": "DBInstanceClass",
    "autoMinorVersionUpgrade": "AutoMinorVersionUpgrade",
}

_INSTANCE = arn("rds", "db:{name}")
# Used, never written: an instance joins its cluster's subnet group, default groups.
_USED = (arn("rds", "pg:*"), arn("rds", "og:*"), arn("rds", "subgrp:{name:DocDbSubnetGroup}"))


@register
class DocDbInstance(DocDbKind):
    """A DocumentDB instance with a fixed identifier, found by its ownership tags."""

    kind = "DocDbInstance"
    iam_actions = (
        "rds:DescribeDBInstances",
        "rds:CreateDBInstance",
        "rds:ModifyDBInstance",
        "rds:DeleteDBInstance",
        *DOCDB_TAGS,
    )
    iam_scopes = (
        Scope(
            ("rds:CreateDBInstance",),
            (_INSTANCE, arn("rds", "cluster:{name:DocDbCluster}"), *_USED),
        ),
        Scope(("rds:ModifyDBInstance", "rds:DeleteDBInstance"), (_INSTANCE,)),
        *tagging("rds:AddTagsToResource", "rds:RemoveTagsFromResource", (_INSTANCE,)),
    )
    service_linked_roles = ("rds.amazonaws.com",)
    read_service = "rds"
    describe_op, list_key = "describe_db_instances", "DBInstances"
    name_key, arn_key, status_key = "DBInstanceIdentifier", "DBInstanceArn", "DBInstanceStatus"
    name_field = "instanceIdentifier"
    exists_code = "DBInstanceAlreadyExists"
    filters = ENGINE_FILTER
    requires = ("DocDbCluster",)
    not_found_codes = frozenset({"DBInstanceNotFound"})
    terminal_codes = frozenset(
        {
            "InstanceQuotaExceeded",
            "InsufficientDBInstanceCapacity",
            "StorageQuotaExceeded",
            "StorageTypeNotSupported",
            "AuthorizationNotFound",
            "KMSKeyNotAccessibleFault",
        }
    )

    def to_observed(
        self, raw: Raw, tags: dict[str, str], logical_id: str, ctx: Context
    ) -> Observed:
        return observed(
            self.kind,
            logical_id,
            str(raw["DBInstanceIdentifier"]),
            ctx,
            spec=_spec(raw),
            attrs=_attrs(raw),
            tags=tags,
            ready=raw.get("DBInstanceStatus") == "available",
        )

    def create(self, desired: Resource, ctx: Context) -> Observed:
        spec = desired.spec

        def create() -> Observed:
            out = ctx.docdb.create_db_instance(
                DBInstanceIdentifier=self.physical_name(desired),
                DBClusterIdentifier=str(spec["clusterIdentifier"]).lower(),
                DBInstanceClass=spec["instanceClass"],
                Engine=ENGINE,
                AutoMinorVersionUpgrade=bool(spec.get("autoMinorVersionUpgrade", True)),
                Tags=ctx.tag_list(desired),
            )
            return self.to_observed(
                out["DBInstance"], desired.ownership_tags(), desired.logical_id, ctx
            )

        return self.create_or_adopt(desired, ctx, create)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        changes = {p: desired.spec[f] for f, p in _MODIFIABLE.items() if diff.changed(f)}
        if changes:
            ctx.docdb.modify_db_instance(
                DBInstanceIdentifier=observed.physical_id, ApplyImmediately=True, **changes
            )
        if diff.changed("tags"):
            sync_tags(ctx, observed.attrs["arn"], observed.tags, desired.ownership_tags())
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # The data is the cluster's; an instance takes no snapshot of its own.
        with ignoring(self.not_found_codes):
            ctx.docdb.delete_db_instance(DBInstanceIdentifier=observed.physical_id)


def _spec(raw: Raw) -> dict[str, Any]:
    return {
        "instanceIdentifier": raw["DBInstanceIdentifier"],
        "clusterIdentifier": raw.get("DBClusterIdentifier"),
        "instanceClass": raw.get("DBInstanceClass"),
        "autoMinorVersionUpgrade": bool(raw.get("AutoMinorVersionUpgrade")),
    }


def _attrs(raw: Raw) -> dict[str, Any]:
    endpoint = raw.get("Endpoint") or {}  # absent while the instance is being created
    return {
        "id": raw["DBInstanceIdentifier"],
        "arn": raw["DBInstanceArn"],
        "endpoint": endpoint.get("Address"),
        "port": endpoint.get("Port"),
    }
