"""What AWS reports on a replication group's member cache clusters only (the security
groups, the subnet group, the engine version), read from its first member."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controller.aws.context import Context
from controller.model import Resource
from reconcilers._elasticache import Raw


def member_reader(ctx: Context, batched: bool) -> Callable[[str], Raw | None]:
    """Reads a member cache cluster by id: one call each for one group, or, for several,
    one paginated listing of every cluster read once (the same cost for 50 stacks as 1)."""
    if not batched:

        def one(cluster_id: str) -> Raw | None:
            out = ctx.elasticache.describe_cache_clusters(CacheClusterId=cluster_id)
            return next(iter(out["CacheClusters"]), None)

        return one
    index: dict[str, Raw] = {}

    def listed(cluster_id: str) -> Raw | None:
        if not index:
            clusters = ctx.describe("elasticache", "describe_cache_clusters", "CacheClusters")
            index.update({str(c["CacheClusterId"]): c for c in clusters})
        return index.get(cluster_id)

    return listed


def details(group: Raw, desired: Resource, member: Callable[[str], Raw | None]) -> dict[str, Any]:
    """The group's settings its first member holds, for a desired group of ours."""
    out: dict[str, Any] = {}
    if group.get("Status") == "creating" and not primary(group).get("PrimaryEndpoint"):
        # AWS reports the endpoint, and with it the port, once the group is available. A
        # group still creating is plumb's own create, and the port cannot change in place:
        # it holds no drift to report yet.
        out["port"] = desired.spec["port"]
    members = group.get("MemberClusters") or []
    if not members:
        return out
    cluster = member(str(members[0]))
    if cluster is None:
        return out  # created after the listing: read as not yet reported, never as absent
    return {
        **out,
        "engineVersion": cluster.get("EngineVersion"),
        "subnetGroupName": cluster.get("CacheSubnetGroupName"),
        "securityGroupIds": sorted(
            sg["SecurityGroupId"] for sg in cluster.get("SecurityGroups", [])
        ),
    }


def primary(group: Raw) -> Raw:
    """The group's first node group: where its endpoints are."""
    first: Raw = (group.get("NodeGroups") or [{}])[0]
    return first
