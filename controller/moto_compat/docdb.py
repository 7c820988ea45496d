"""DocumentDB: moto's RDS backend rejects Engine="docdb" (MOTO.md rows 38-40); its engine
lists and defaults are extended so clusters and instances can be created."""

from __future__ import annotations

from typing import Any

from controller.moto_compat import patch_for

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
