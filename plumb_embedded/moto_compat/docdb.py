"""DocumentDB: moto's RDS backend, made to behave like AWS for plumb's DocDB kinds.

- moto rejects Engine="docdb" (docs/moto.md, DocumentDB): its engine lists and defaults are
  extended so clusters and instances can be created.
- CreateDBSubnetGroup over an existing name silently replaces the group and drops its
  tags; AWS answers DBSubnetGroupAlreadyExists.
- ModifyDBSubnetGroup takes the group out of the backend and never puts it back (it is
  gone for every later call); AWS modifies it in place, tags kept, and answers
  DBSubnetGroupNotFoundFault for a missing group.
- DeleteDBSubnetGroup deletes a group a cluster or instance still uses; AWS answers
  InvalidDBSubnetGroupStateFault.
- CreateDBCluster over an existing identifier replaces the cluster (its deletion
  protection and tags with it) and then fails on the automated snapshot's name; AWS
  answers DBClusterAlreadyExistsFault and leaves the cluster alone.
"""

from __future__ import annotations

from typing import Any

from plumb_embedded.moto_compat import patch_for

DOCDB_VERSION = "5.0.0"
DOCDB_PORT = 27017


@patch_for("docdb")
def patch_docdb_engine() -> None:
    from moto.rds import models, utils

    if getattr(utils.ClusterEngine, "_plumb_docdb", False):
        return
    cluster_engines = utils.ClusterEngine.list_cluster_engines
    instance_engines = utils.DbInstanceEngine.valid_db_instance_engine
    utils.ClusterEngine.list_cluster_engines = classmethod(  # type: ignore[method-assign,assignment]
        lambda cls: sorted([*cluster_engines(), "docdb"])
    )
    utils.DbInstanceEngine.valid_db_instance_engine = classmethod(  # type: ignore[method-assign,assignment]
        lambda cls: sorted([*instance_engines(), "docdb"])
    )
    cluster = models.DBCluster
    _wrap_static(cluster, "default_engine_version", DOCDB_VERSION)
    _wrap_static(cluster, "default_port", DOCDB_PORT)
    storage = cluster.default_allocated_storage
    cluster.default_allocated_storage = staticmethod(  # type: ignore[method-assign]
        lambda engine, storage_type: 1 if engine == "docdb" else storage(engine, storage_type)
    )
    _wrap_static(models.DBInstance, "default_port", DOCDB_PORT)
    models.DBInstance.default_engine_versions["docdb"] = DOCDB_VERSION
    utils.ClusterEngine._plumb_docdb = True  # type: ignore[attr-defined]


def _wrap_static(cls: Any, name: str, docdb_value: Any) -> None:
    original = getattr(cls, name)
    setattr(
        cls,
        name,
        staticmethod(lambda engine, *a: docdb_value if engine == "docdb" else original(engine, *a)),
    )


@patch_for("docdb")
def patch_docdb_conflicts() -> None:
    from moto.rds import exceptions, models

    backend = models.RDSBackend
    if getattr(backend, "_plumb_docdb_conflicts", False):
        return
    error = exceptions.RDSClientError
    create_group = backend.create_subnet_group
    delete_group = backend.delete_subnet_group
    create_cluster = backend.create_db_cluster

    def create_subnet_group(self: Any, subnet_name: str, *args: Any, **kwargs: Any) -> Any:
        if subnet_name in self.subnet_groups:
            raise error(
                "DBSubnetGroupAlreadyExists", f"DB subnet group {subnet_name} already exists."
            )
        return create_group(self, subnet_name, *args, **kwargs)

    def modify_db_subnet_group(
        self: Any, subnet_name: str, description: str | None, subnets: list[Any]
    ) -> Any:
        group = self.subnet_groups.get(subnet_name)
        if group is None:
            raise exceptions.DBSubnetGroupNotFoundError(subnet_name)
        if subnets:
            group.subnets = subnets
        if description is not None:
            group.description = description
        return group

    def delete_subnet_group(self: Any, subnet_name: str) -> Any:
        users = [*self.clusters.values(), *self.databases.values()]
        if any(_subnet_group_of(user) == subnet_name.lower() for user in users):
            raise error(
                "InvalidDBSubnetGroupStateFault",
                f"Cannot delete the subnet group '{subnet_name}' because it is in use.",
            )
        return delete_group(self, subnet_name)

    def create_db_cluster(self: Any, kwargs: dict[str, Any]) -> Any:
        if kwargs["db_cluster_identifier"] in self.clusters:
            raise error("DBClusterAlreadyExistsFault", "DB Cluster already exists")
        return create_cluster(self, kwargs)

    backend.create_subnet_group = create_subnet_group  # type: ignore[method-assign]
    backend.modify_db_subnet_group = modify_db_subnet_group  # type: ignore[method-assign]
    backend.delete_subnet_group = delete_subnet_group  # type: ignore[method-assign]
    backend.create_db_cluster = create_db_cluster  # type: ignore[method-assign]
    backend._plumb_docdb_conflicts = True  # type: ignore[attr-defined]


def _subnet_group_of(user: Any) -> str:
    # A cluster keeps the name; an instance keeps the name or the group itself.
    name = getattr(user, "db_subnet_group_name", None)
    if name is None and getattr(user, "db_subnet_group", None) is not None:
        name = getattr(user.db_subnet_group, "name", None)
    return str(name or "").lower()
