"""The DocumentDB cluster kind: the stack's database, its storage, backups and network.

A cluster holds the product's data, so it is the riskiest kind plumb manages; each risk
and where it is handled:
  - The master password never passes through plumb. The cluster is created with
    ManageMasterUserPassword: AWS makes the password and keeps it in Secrets Manager;
    plumb reads back only that secret's ARN (attr `masterSecretArn`). There is no field
    for a password, so none can reach a spec, a plan, the state or a report.
  - Deletion keeps the data: DeleteDBCluster always names a final snapshot
    ("{id}-final-{yyyymmddHHMMSS}"), never SkipFinalSnapshot. With deletion protection
    on, plumb refuses to delete and says how to turn it off; it never turns it off itself.
  - AWS upgrades minor engine versions on its own: engineVersion compares "at least"
    (5.0.0 asked for is met by 5.0.1), so such an upgrade is not drift to be undone.
  - CreateDBCluster takes no client token: the cluster is tagged in the create call and
    an "already exists" for a cluster carrying our `plumb:id` is adopted
    (`DocDbKind.create`).
  - DescribeDBClusters also lists RDS and Neptune clusters, so it is filtered on the
    engine; tags cost one read per cluster that could be ours (`_docdb.candidates`).
moto reads KmsKeyId and the parameter group back oddly (docs/moto.md, DocumentDB), so
neither is managed.
States: available is ready; modifying and backing-up still serve, so they are ready too;
creating, upgrading and the rest are not; deleting is absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.errors import ERR_DELETE, TerminalError
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.errors import error_code, ignoring, transient_on
from controller.kinds.iam_scope import Scope, arn, tagging
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._docdb import ENGINE, ENGINE_FILTER, RDS_ROLE, SERVICE, TAGS, DocDbKind, Raw
from reconcilers._docdb import TAG_ACTIONS as DOCDB_TAGS

_SERVING = frozenset({"available", "modifying", "backing-up"})
PROTECTED = (
    "deletion protection is on: set documentdb.deletionProtection: false and apply, then delete"
)
# Spec field -> ModifyDBCluster parameter, for the fields an update may change.
_MODIFIABLE = {
    "engineVersion": "EngineVersion",
    "backupRetentionDays": "BackupRetentionPeriod",
    "deletionProtection": "DeletionProtection",
    "securityGroupIds": "VpcSecurityGroupIds",
    "preferredBackupWindow": "PreferredBackupWindow",
}

_CLUSTER = arn("rds", "cluster:{name}")
# Parameter and option groups are used, never written: AWS names the defaults.
_USED = (arn("rds", "cluster-pg:*"), arn("rds", "og:*"))
_SECRET_ACTIONS = (
    "secretsmanager:CreateSecret",
    "secretsmanager:RotateSecret",
    "secretsmanager:TagResource",
)


@register
class DocDbCluster(DocDbKind):
    """A DocumentDB cluster with a fixed identifier, found by its ownership tags."""

    descriptor = Descriptor(
        "DocDbCluster",
        SERVICE,
        not_found_codes=frozenset({"DBClusterNotFoundFault"}),
        terminal_codes=frozenset(
            {
                "DBClusterQuotaExceededFault",
                "StorageQuotaExceeded",
                "KMSKeyNotAccessibleFault",
                "DBSubnetGroupDoesNotCoverEnoughAZs",
                "InvalidSubnet",
                "InvalidVPCNetworkStateFault",
                "NetworkTypeNotSupported",
                "DBClusterParameterGroupNotFound",
            }
        ),
        stateful=True,
        requires=("DocDbSubnetGroup", "SecurityGroup"),
        iam=Grants(
            actions=(
                "rds:DescribeDBClusters",
                "rds:CreateDBCluster",
                "rds:ModifyDBCluster",
                "rds:DeleteDBCluster",
                *DOCDB_TAGS,
                # ManageMasterUserPassword: DocumentDB makes the password's secret with the
                # caller's rights, as RDS documents for its own engines.
                *_SECRET_ACTIONS,
            ),
            scopes=(
                Scope(
                    ("rds:CreateDBCluster",),
                    (_CLUSTER, *_USED, arn("rds", "subgrp:{name:DocDbSubnetGroup}")),
                ),
                Scope(("rds:ModifyDBCluster",), (_CLUSTER, *_USED)),
                Scope(
                    ("rds:DeleteDBCluster",),
                    (_CLUSTER, arn("rds", "cluster-snapshot:{name}-final-*")),
                ),
                *tagging("rds:AddTagsToResource", "rds:RemoveTagsFromResource", (_CLUSTER,)),
                Scope(_SECRET_ACTIONS, (arn("secretsmanager", "secret:rds!cluster-*"),)),
            ),
            service_linked_roles=RDS_ROLE,
        ),
        tags=TAGS,
    )
    read_service = "rds"
    describe_op, list_key = "describe_db_clusters", "DBClusters"
    name_key, arn_key, status_key = "DBClusterIdentifier", "DBClusterArn", "Status"
    serving = _SERVING
    name_field = "clusterIdentifier"
    exists_code = "DBClusterAlreadyExistsFault"
    create_op, item_key = "create_db_cluster", "DBCluster"
    modify_op = "modify_db_cluster"
    filters = ENGINE_FILTER

    def create_args(self, desired: Resource, ctx: Context) -> dict[str, Any]:
        spec = desired.spec
        args: dict[str, Any] = {
            "DBClusterIdentifier": self.physical_name(desired),
            "Engine": ENGINE,
            "DBSubnetGroupName": str(spec["subnetGroupName"]).lower(),
            "MasterUsername": spec["masterUsername"],
            # AWS makes the password and keeps it in Secrets Manager; plumb never sees it.
            "ManageMasterUserPassword": True,
            "StorageEncrypted": bool(spec["storageEncrypted"]),
            "DeletionProtection": bool(spec["deletionProtection"]),
            "Port": int(spec["port"]),
            "Tags": ctx.tag_list(desired),
        }
        # Left out of the spec: AWS's choice (latest version, default group, a window).
        optional = {param: spec[field] for field, param in _MODIFIABLE.items() if field in spec}
        optional.pop("DeletionProtection", None)
        if "VpcSecurityGroupIds" in optional:
            optional["VpcSecurityGroupIds"] = sorted(optional["VpcSecurityGroupIds"])
        return {**args, **optional}

    def modifications(self, desired: Resource, observed: Observed, diff: Diff) -> dict[str, Any]:
        return _modifications(desired.spec, observed.spec, diff)

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        return {
            "clusterIdentifier": raw["DBClusterIdentifier"],
            "engineVersion": raw.get("EngineVersion"),
            "subnetGroupName": raw.get("DBSubnetGroup"),
            "securityGroupIds": sorted(
                g["VpcSecurityGroupId"] for g in raw.get("VpcSecurityGroups") or []
            ),
            "backupRetentionDays": raw.get("BackupRetentionPeriod"),
            "deletionProtection": bool(raw.get("DeletionProtection")),
            "storageEncrypted": bool(raw.get("StorageEncrypted")),
            "masterUsername": raw.get("MasterUsername"),
            "port": raw.get("Port"),
            "preferredBackupWindow": raw.get("PreferredBackupWindow"),
        }

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        return {
            "id": raw["DBClusterIdentifier"],
            "arn": raw["DBClusterArn"],
            "endpoint": raw.get("Endpoint"),
            "readerEndpoint": raw.get("ReaderEndpoint"),
            "port": raw.get("Port"),
            # Only where the password is kept, never the password.
            "masterSecretArn": (raw.get("MasterUserSecret") or {}).get("SecretArn"),
            "clusterResourceId": raw.get("DbClusterResourceId"),
        }

    def delete(self, observed: Observed, ctx: Context) -> None:
        if observed.spec.get("deletionProtection"):
            raise self._protected(observed)
        snapshot = f"{observed.physical_id}-final-{datetime.now(UTC):%Y%m%d%H%M%S}"
        try:
            # InvalidDBClusterStateFault: instances still going away, or already deleting.
            with (
                ignoring(self.descriptor.not_found_codes),
                transient_on({"InvalidDBClusterStateFault"}),
            ):
                ctx.docdb.delete_db_cluster(
                    DBClusterIdentifier=observed.physical_id, FinalDBSnapshotIdentifier=snapshot
                )
        except ClientError as err:
            # Protection turned on since the observation: AWS refuses, and says so.
            if error_code(err) == "InvalidParameterCombination" and "protect" in str(err):
                raise self._protected(observed) from err
            raise

    def _protected(self, observed: Observed) -> TerminalError:
        message = ERR_DELETE.format(
            kind=self.kind,
            logical_id=observed.logical_id,
            code="DeletionProtection",
            message=f"{observed.physical_id}: {PROTECTED}",
        )
        return TerminalError(message, "DeletionProtection")


def _modifications(want: Mapping[str, Any], have: Mapping[str, Any], diff: Diff) -> dict[str, Any]:
    """ModifyDBCluster's arguments for exactly the fields the diff names."""
    out = {param: want[field] for field, param in _MODIFIABLE.items() if diff.changed(field)}
    if "VpcSecurityGroupIds" in out:
        out["VpcSecurityGroupIds"] = sorted(out["VpcSecurityGroupIds"])
    if "EngineVersion" in out and _major(out["EngineVersion"]) != _major(have.get("engineVersion")):
        out["AllowMajorVersionUpgrade"] = True
    return out


def _major(version: Any) -> str:
    return str(version or "").split(".", 1)[0]
