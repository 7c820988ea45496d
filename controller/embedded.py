"""The embedded AWS endpoint: a moto server on a free loopback port, inside this process.

`--aws embedded` and `plumb demo` use it, and so do the end-to-end tests. The few
compatibility patches moto 5 needs for plumb's kinds live here and nowhere else
(shared/MOTO.md measures each):
  - DocumentDB: moto's RDS backend rejects Engine="docdb"; the engine lists and defaults
    are extended so clusters and instances can be created.
  - ACM: requested certificates become ISSUED at once (MOTO_ACM_VALIDATION_WAIT=0).
  - ECS: services report their desired tasks as running (MOTO_ECS_SERVICE_RUNNING).
  - EC2: a deleted NAT gateway releases its Elastic IP's association, as AWS does once the
    gateway reaches `deleted`; moto kept it associated forever, so the address could never
    be reused by a replacement gateway.
The patches touch moto's classes in this process only, which is why the server runs as a
thread here rather than as a separate `moto_server` process.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
DOCDB_VERSION = "5.0.0"
DOCDB_PORT = 27017


def _moto_env() -> None:
    # Read by moto when it is imported or when a resource is created.
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
    os.environ.setdefault("MOTO_ECS_SERVICE_RUNNING", "2")


def patch_moto_docdb() -> None:
    """Teach moto's RDS backend the `docdb` engine (idempotent)."""
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


def patch_moto_nat_release() -> None:
    """Make moto's delete_nat_gateway free the gateway's Elastic IP (idempotent)."""
    from moto.ec2.models.nat_gateways import NatGatewayBackend

    if getattr(NatGatewayBackend, "_plumb_release", False):
        return
    delete = NatGatewayBackend.delete_nat_gateway

    def delete_and_release(self: Any, nat_gateway_id: str) -> Any:
        gateway = delete(self, nat_gateway_id)
        for address in getattr(self, "addresses", []):
            if address.association_id and address.eni is getattr(gateway, "_eni", None):
                self.disassociate_address(association_id=address.association_id)
        return gateway

    NatGatewayBackend.delete_nat_gateway = delete_and_release  # type: ignore[method-assign]
    NatGatewayBackend._plumb_release = True  # type: ignore[attr-defined]


def patch_moto() -> None:
    """Every compatibility patch plumb needs, for the embedded server and for tests."""
    patch_moto_docdb()
    patch_moto_nat_release()


def _wrap_static(cls: Any, name: str, docdb_value: Any) -> None:
    original = getattr(cls, name)
    setattr(
        cls,
        name,
        staticmethod(lambda engine, *a: docdb_value if engine == "docdb" else original(engine, *a)),
    )


class EmbeddedAws:
    """A moto server on 127.0.0.1, started and stopped around a block of work."""

    def __init__(self) -> None:
        self.endpoint = ""
        self._server: Any = None
        self._saved: dict[str, str | None] = {}

    def start(self) -> str:
        _moto_env()
        from moto.server import ThreadedMotoServer

        patch_moto()
        # Werkzeug logs every request on stderr, which would bury plumb's own output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        env = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}
        for key, value in env.items():
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            self._saved[key] = os.environ.pop(key, None)
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved.clear()


@contextlib.contextmanager
def embedded_aws() -> Iterator[EmbeddedAws]:
    aws = EmbeddedAws()
    aws.start()
    try:
        yield aws
    finally:
        aws.stop()
