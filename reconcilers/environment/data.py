"""Expansion of the Environment's stateful data sections: DocumentDB and Redis.

Logical ids: data/docdb-subnets, data/docdb (the cluster), data/docdb-1 ... data/docdb-N
(its instances), data/redis-subnets, data/redis (a one-node replication group: no replica,
no automatic failover, encrypted at rest, in transit as redis.transitEncryption says).

Both live in the private subnets behind their own security groups (network.py). Their
deletion policy comes from the section (Retain by default): a stateful resource is never
replaced or deleted unless the spec says Delete AND the run allows it. DocumentDB's master
password is managed by AWS in Secrets Manager (ManageMasterUserPassword); plumb never
holds it, and the app reads it through the task definition's secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.model import Resource
from reconcilers.environment.ids import (
    DOCDB_CLUSTER,
    DOCDB_SUBNETS,
    REDIS,
    REDIS_SUBNETS,
    SG_DOCDB,
    SG_REDIS,
    subnet_id,
)
from reconcilers.environment.view import StackView, ref

DOCDB_USER = "plumbadmin"


def expand(view: StackView) -> list[Resource]:
    return [*_documentdb(view), *_redis(view)]


def _private_subnets(view: StackView) -> list[dict[str, str]]:
    net = view.section("network") or {}
    azs = [str(az) for az in net.get("availabilityZones") or ()]
    private = azs[: len(net.get("privateSubnets") or ())]
    return [ref(subnet_id("private", az)) for az in private]


def _documentdb(view: StackView) -> list[Resource]:
    db = view.section("documentdb")
    if db is None:
        return []
    policy = str(db["deletionPolicy"])
    name = f"{view.stack}-docdb"
    subnets = view.resource(
        "DocDbSubnetGroup",
        DOCDB_SUBNETS,
        {
            "name": name,
            "description": f"{view.stack} DocumentDB, private subnets",
            "subnetIds": _private_subnets(view),
        },
        path=("documentdb",),
    )
    cluster = view.resource(
        "DocDbCluster",
        DOCDB_CLUSTER,
        {
            "clusterIdentifier": name,
            "engineVersion": db["engineVersion"],
            "subnetGroupName": ref(DOCDB_SUBNETS, "name"),
            "securityGroupIds": [ref(SG_DOCDB)],
            "backupRetentionDays": db["backupRetentionDays"],
            "deletionProtection": db["deletionProtection"],
            "storageEncrypted": True,
            "masterUsername": DOCDB_USER,
            "port": 27017,
        },
        path=("documentdb",),
        deletion_policy=policy,
    )
    return [subnets, cluster, *_instances(view, db, name, policy)]


def _instances(view: StackView, db: Mapping[str, Any], name: str, policy: str) -> list[Resource]:
    return [
        view.resource(
            "DocDbInstance",
            f"data/docdb-{index}",
            {
                "instanceIdentifier": f"{name}-{index}",
                "clusterIdentifier": ref(DOCDB_CLUSTER, "id"),
                "instanceClass": db["instanceClass"],
                "autoMinorVersionUpgrade": True,
            },
            path=("documentdb", "instances"),
            deletion_policy=policy,
        )
        for index in range(1, int(db["instances"]) + 1)
    ]


def _redis(view: StackView) -> list[Resource]:
    redis = view.section("redis")
    if redis is None:
        return []
    name = f"{view.stack}-redis"
    subnets = view.resource(
        "CacheSubnetGroup",
        REDIS_SUBNETS,
        {
            "name": name,
            "description": f"{view.stack} Redis, private subnets",
            "subnetIds": _private_subnets(view),
        },
        path=("redis",),
    )
    group = view.resource(
        "CacheReplicationGroup",
        REDIS,
        {
            "replicationGroupId": name,
            "description": f"{view.stack} Redis, one node, managed by plumb",
            "nodeType": redis["nodeType"],
            "engine": "redis",
            "engineVersion": redis["engineVersion"],
            "numCacheClusters": 1,
            "automaticFailover": False,
            "subnetGroupName": ref(REDIS_SUBNETS, "name"),
            "securityGroupIds": [ref(SG_REDIS)],
            "snapshotRetentionDays": redis["snapshotRetentionDays"],
            "atRestEncryption": True,
            "transitEncryption": redis["transitEncryption"],
            "port": 6379,
        },
        path=("redis",),
        deletion_policy=str(redis["deletionPolicy"]),
    )
    return [subnets, group]
