"""ElastiCache: moto 5.2.5 made to behave as AWS does where plumb's cache kinds need it
(docs/moto.md, ElastiCache).

- DeleteCacheSubnetGroup and ModifyCacheSubnetGroup are not implemented (NotImplementedError
  in-process, HTTP 500 on the server): both are, and a delete is refused with
  CacheSubnetGroupInUse while a live replication group or cache cluster uses the group.
- A replication group's member cache clusters are not materialised, so DescribeCacheClusters
  on a member answers CacheClusterNotFound, and the security groups, subnet group and engine
  version, which AWS reports on the members only, cannot be read. CreateReplicationGroup now
  makes them, with SecurityGroups and EngineVersion as AWS reports them ("7.1" -> "7.1.0"),
  and ModifyReplicationGroup, which also dropped SecurityGroupIds and EngineVersion, updates
  them.
- A deleted replication group stayed "deleting" forever and its id could never be used
  again: it now ends not found, as on AWS once its deletion is done, with its members, and
  after the final snapshot it was asked for (moto ignored FinalSnapshotIdentifier).
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

from plumb_embedded.moto_compat import patch_for

DEFAULT_ENGINE_VERSION = "7.1.0"  # what AWS picks for Redis when none is asked for


@patch_for("elasticache")
def patch_elasticache() -> None:
    from moto.elasticache.responses import ElastiCacheResponse as Responses

    if getattr(Responses, "_plumb_elasticache", False):
        return
    Responses.delete_cache_subnet_group = _delete_subnet_group  # type: ignore[attr-defined]
    Responses.modify_cache_subnet_group = _modify_subnet_group  # type: ignore[attr-defined]
    Responses.create_replication_group = _then_sync(Responses.create_replication_group)  # type: ignore[method-assign]
    Responses.modify_replication_group = _modify_group(Responses.modify_replication_group)  # type: ignore[method-assign]
    Responses.delete_replication_group = _delete_group(Responses.delete_replication_group)  # type: ignore[method-assign]
    Responses._plumb_elasticache = True  # type: ignore[attr-defined]


# -- cache subnet groups ----------------------------------------------------------------


def _delete_subnet_group(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    backend = self.elasticache_backend
    name = self._get_param("CacheSubnetGroupName")
    group = backend.describe_cache_subnet_groups(cache_subnet_group_name=name)[0]
    if _subnet_group_in_use(backend, name):
        raise _in_use(name)
    del backend.cache_subnet_groups[name]
    backend.tagging_service.delete_all_tags_for_resource(group.arn)
    return EmptyResult()


def _subnet_group_in_use(backend: Any, name: str) -> bool:
    groups = (
        g
        for g in backend.replication_groups.values()
        if g.status != "deleting" and g.cache_subnet_group_name == name
    )
    clusters = (
        c
        for c in backend.cache_clusters.values()
        if c.cache_cluster_status != "deleting" and c.cache_subnet_group_name == name
    )
    return any(groups) or any(clusters)


def _in_use(name: str) -> Exception:
    from moto.elasticache.exceptions import ElastiCacheException

    class InUse(ElastiCacheException):
        code = "CacheSubnetGroupInUse"

    return InUse(f"Cache subnet group {name} is currently in use by a cache cluster.")


def _modify_subnet_group(self: Any) -> Any:
    """The group is rebuilt, so its subnets and VPC are looked up again as on create; its
    ARN, and so its tags, stay the same."""
    from moto.core.responses import ActionResult

    backend = self.elasticache_backend
    name = self._get_param("CacheSubnetGroupName")
    old = backend.describe_cache_subnet_groups(cache_subnet_group_name=name)[0]
    description = self._get_param("CacheSubnetGroupDescription")
    subnet_ids = self._get_param("SubnetIds")
    new = type(old)(
        account_id=backend.account_id,
        region_name=backend.region_name,
        cache_subnet_group_name=name,
        cache_subnet_group_description=(
            old.cache_subnet_group_description if description is None else description
        ),
        subnet_ids=list(subnet_ids) if subnet_ids else old.subnet_ids,
        tags=old.tags,
    )
    backend.cache_subnet_groups[name] = new
    # moto's serializer finds the result's one member by its snake_case name.
    return ActionResult(SimpleNamespace(cache_subnet_group=new))


# -- replication groups and their member clusters ---------------------------------------


def _then_sync(create: Any) -> Any:
    def create_with_members(self: Any) -> Any:
        result = create(self)
        backend = self.elasticache_backend
        _sync_members(backend, backend.replication_groups[self._get_param("ReplicationGroupId")])
        return result

    return create_with_members


def _modify_group(modify: Any) -> Any:
    def modify_with_members(self: Any) -> Any:
        result = modify(self)
        group = self.elasticache_backend.replication_groups[self._get_param("ReplicationGroupId")]
        security_group_ids = self._get_param("SecurityGroupIds")
        if security_group_ids is not None:
            group.security_group_ids = list(security_group_ids)
        if self._get_param("EngineVersion"):
            group.engine_version = self._get_param("EngineVersion")
        _sync_members(self.elasticache_backend, group)
        return result

    return modify_with_members


def _delete_group(delete: Any) -> Any:
    def delete_and_forget(self: Any) -> Any:
        backend = self.elasticache_backend
        group_id = self._get_param("ReplicationGroupId")
        final = self._get_param("FinalSnapshotIdentifier")
        if final and group_id in backend.replication_groups:
            backend.create_snapshot(
                snapshot_name=final,
                replication_group_id=group_id,
                cache_cluster_id=None,
                kms_key_id=None,
                tags=None,
            )
        members = list(getattr(backend.replication_groups.get(group_id), "member_clusters", []))
        result = delete(self)  # answers with the group "deleting", as AWS does
        group = backend.replication_groups.pop(group_id)
        backend.tagging_service.delete_all_tags_for_resource(group.arn)
        for member in members:
            backend.cache_clusters.pop(member, None)
        return result

    return delete_and_forget


def _sync_members(backend: Any, group: Any) -> None:
    """Each member cache cluster made (once) and given the group's current settings."""
    for member in group.member_clusters:
        cluster = backend.cache_clusters.get(member) or _new_member(backend, group, member)
        backend.cache_clusters[member] = cluster
        cluster.cache_node_type = group.cache_node_type
        cluster.engine_version = _reported_version(group.engine_version)
        cluster.snapshot_retention_limit = group.snapshot_retention_limit
        cluster.security_group_ids = list(group.security_group_ids or [])
        cluster.security_groups = [
            {"SecurityGroupId": sg, "Status": "active"} for sg in cluster.security_group_ids
        ]


def _new_member(backend: Any, group: Any, cluster_id: str) -> Any:
    from moto.elasticache.models import CacheCluster

    params = inspect.signature(CacheCluster.__init__).parameters
    args: dict[str, Any] = dict.fromkeys(name for name in params if name != "self")
    args.update(
        account_id=backend.account_id,
        region_name=backend.region_name,
        cache_cluster_id=cluster_id,
        replication_group_id=group.replication_group_id,
        engine=group.engine,
        cache_node_type=group.cache_node_type,
        cache_subnet_group_name=group.cache_subnet_group_name,
        port=group.port,
        transit_encryption_enabled=group.transit_encryption_enabled,
        log_delivery_configurations=[],
    )
    return CacheCluster(**args)


def _reported_version(asked: str | None) -> str:
    """AWS reports the full version it runs: "7.1" is reported as "7.1.0"."""
    if not asked:
        return DEFAULT_ENGINE_VERSION
    return f"{asked}.0" if asked.count(".") == 1 else asked
