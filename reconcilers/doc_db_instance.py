"""The DocumentDB instance kind: one compute node of a cluster.

An instance holds no data of its own (the cluster's storage does), so deleting one loses
nothing and takes no snapshot. Its risks and where they are handled:
  - CreateDBInstance takes no client token: the instance is tagged in the create call and
    an "already exists" for an instance carrying our `plumb:id` is adopted
    (`DocDbKind.create`).
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
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.iam_scope import Scope, arn, tagging
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._docdb import ENGINE, ENGINE_FILTER, RDS_ROLE, SERVICE, TAGS, DocDbKind, Raw
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

    descriptor = Descriptor(
        "DocDbInstance",
        SERVICE,
        not_found_codes=frozenset({"DBInstanceNotFound"}),
        terminal_codes=frozenset(
            {
                "InstanceQuotaExceeded",
                "InsufficientDBInstanceCapacity",
                "StorageQuotaExceeded",
                "StorageTypeNotSupported",
                "AuthorizationNotFound",
                "KMSKeyNotAccessibleFault",
            }
        ),
        requires=("DocDbCluster",),
        iam=Grants(
            actions=(
                "rds:DescribeDBInstances",
                "rds:CreateDBInstance",
                "rds:ModifyDBInstance",
                "rds:DeleteDBInstance",
                *DOCDB_TAGS,
            ),
            scopes=(
                Scope(
                    ("rds:CreateDBInstance",),
                    (_INSTANCE, arn("rds", "cluster:{name:DocDbCluster}"), *_USED),
                ),
                Scope(("rds:ModifyDBInstance", "rds:DeleteDBInstance"), (_INSTANCE,)),
                *tagging("rds:AddTagsToResource", "rds:RemoveTagsFromResource", (_INSTANCE,)),
            ),
            service_linked_roles=RDS_ROLE,
        ),
        tags=TAGS,
    )
    read_service = "rds"
    describe_op, list_key = "describe_db_instances", "DBInstances"
    name_key, arn_key, status_key = "DBInstanceIdentifier", "DBInstanceArn", "DBInstanceStatus"
    serving = frozenset({"available"})
    name_field = "instanceIdentifier"
    exists_code = "DBInstanceAlreadyExists"
    create_op, item_key = "create_db_instance", "DBInstance"
    modify_op = "modify_db_instance"
    filters = ENGINE_FILTER

    def create_args(self, desired: Resource, ctx: Context) -> dict[str, Any]:
        spec = desired.spec
        return {
            "DBInstanceIdentifier": self.physical_name(desired),
            "DBClusterIdentifier": str(spec["clusterIdentifier"]).lower(),
            "DBInstanceClass": spec["instanceClass"],
            "Engine": ENGINE,
            "AutoMinorVersionUpgrade": bool(spec["autoMinorVersionUpgrade"]),
            "Tags": ctx.tag_list(desired),
        }

    def modifications(self, desired: Resource, observed: Observed, diff: Diff) -> dict[str, Any]:
        return {p: desired.spec[f] for f, p in _MODIFIABLE.items() if diff.changed(f)}

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        return {
            "instanceIdentifier": raw["DBInstanceIdentifier"],
            "clusterIdentifier": raw.get("DBClusterIdentifier"),
            "instanceClass": raw.get("DBInstanceClass"),
            "autoMinorVersionUpgrade": bool(raw.get("AutoMinorVersionUpgrade")),
        }

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        endpoint = raw.get("Endpoint") or {}  # absent while the instance is being created
        return {
            "id": raw["DBInstanceIdentifier"],
            "arn": raw["DBInstanceArn"],
            "endpoint": endpoint.get("Address"),
            "port": endpoint.get("Port"),
        }

    def delete(self, observed: Observed, ctx: Context) -> None:
        # The data is the cluster's; an instance takes no snapshot of its own.
        with self.deleting():
            ctx.docdb.delete_db_instance(DBInstanceIdentifier=observed.physical_id)
