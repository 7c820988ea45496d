"""ECS: moto made to answer as AWS does where plumb's ECS kinds read it (docs/moto.md,
ECS services).

- CreateService dropped healthCheckGracePeriodSeconds, deploymentConfiguration (circuit
  breaker, percents), enableECSManagedTags and enableExecuteCommand: a diff-based
  controller would see them as drift forever. They are stored and returned, and
  deploymentConfiguration gets AWS's defaults for what the call leaves out.
- CreateService with the name of an ACTIVE service silently replaced it (new tags, new
  count, same ARN). AWS answers the same clientToken with the existing service and any
  other repeat with InvalidParameterException "Creation of service was not idempotent".
- DescribeTaskDefinition by family returned the latest revision even when it was
  deregistered; AWS returns the latest ACTIVE one.
- ListTaskDefinitionFamilies ignored `status`, so families whose every revision is
  deregistered stayed listed as ACTIVE.
- CreateCluster with the name of an ACTIVE cluster replaced it (tags and settings lost);
  AWS answers with the existing cluster, unchanged.
"""

from __future__ import annotations

from typing import Any

from plumb_embedded.moto_compat import patch_for

# What AWS reports for a REPLICA service created without a deploymentConfiguration.
DEFAULT_DEPLOYMENT = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


@patch_for("ecs")
def patch_create_service() -> None:
    from moto.core.responses import ActionResult
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.responses import EC2ContainerServiceResponse

    if getattr(EC2ContainerServiceResponse, "_plumb_create_service", False):
        return
    create = EC2ContainerServiceResponse.create_service

    def create_service(self: Any) -> Any:
        cluster = self._get_param("cluster", "default")
        name = self._get_param("serviceName")
        token = self._get_param("clientToken")
        existing = _active_service(self.ecs_backend, cluster, name)
        if existing is not None:
            if token and getattr(existing, "_plumb_client_token", None) == token:
                return ActionResult({"service": existing})
            raise InvalidParameterException("Creation of service was not idempotent.")
        result = create(self)
        service = self.ecs_backend._get_service(cluster, name)
        _store_dropped_fields(self, service)
        service._plumb_client_token = token
        return result

    EC2ContainerServiceResponse.create_service = create_service  # type: ignore[method-assign]
    EC2ContainerServiceResponse._plumb_create_service = True  # type: ignore[attr-defined]


def _active_service(backend: Any, cluster: str, name: str) -> Any:
    cluster_name = cluster.split("/")[-1]
    for service in backend.services.values():
        if service.cluster_name == cluster_name and service.name == name:
            return service if service.status == "ACTIVE" else None
    return None


def _store_dropped_fields(response: Any, service: Any) -> None:
    """The fields moto's create_service ignores, under the names its serializer reads."""
    grace = response._get_param("healthCheckGracePeriodSeconds")
    if grace is not None:
        service.health_check_grace_period_seconds = int(grace)
    sent = response._get_param("deploymentConfiguration") or {}
    breaker = {
        **DEFAULT_DEPLOYMENT["deploymentCircuitBreaker"],  # type: ignore[dict-item]
        **(sent.get("deploymentCircuitBreaker") or {}),
    }
    service.deployment_configuration = {
        **DEFAULT_DEPLOYMENT,
        **sent,
        "deploymentCircuitBreaker": breaker,
    }
    service.enable_ecs_managed_tags = bool(response._get_param("enableECSManagedTags", False))
    service.enable_execute_command = bool(response._get_param("enableExecuteCommand", False))


@patch_for("ecs")
def patch_latest_active_revision() -> None:
    from moto.ecs.exceptions import TaskDefinitionNotFoundException
    from moto.ecs.models import EC2ContainerServiceBackend

    if getattr(EC2ContainerServiceBackend, "_plumb_latest_active", False):
        return
    describe = EC2ContainerServiceBackend.describe_task_definition

    def describe_task_definition(self: Any, task_definition_str: str) -> Any:
        name = task_definition_str.split("/")[-1]
        if ":" in name:  # family:revision names one revision, whatever its status
            return describe(self, task_definition_str)
        active = [
            rev for rev, td in self.task_definitions.get(name, {}).items() if td.status == "ACTIVE"
        ]
        if not active:
            raise TaskDefinitionNotFoundException()
        return self.task_definitions[name][max(active)]

    EC2ContainerServiceBackend.describe_task_definition = describe_task_definition  # type: ignore[method-assign]
    EC2ContainerServiceBackend._plumb_latest_active = True  # type: ignore[attr-defined]


@patch_for("ecs")
def patch_family_status() -> None:
    from moto.core.responses import ActionResult
    from moto.ecs.responses import EC2ContainerServiceResponse

    if getattr(EC2ContainerServiceResponse, "_plumb_family_status", False):
        return

    def list_task_definition_families(self: Any) -> Any:
        prefix = self._get_param("familyPrefix") or ""
        status = self._get_param("status") or "ALL"
        families = []
        for family, revisions in sorted(self.ecs_backend.task_definitions.items()):
            active = any(td.status == "ACTIVE" for td in revisions.values())
            wanted = {"ACTIVE": active, "INACTIVE": not active}.get(status, True)
            if family.startswith(prefix) and wanted and revisions:
                families.append(family)
        return ActionResult({"families": families})

    EC2ContainerServiceResponse.list_task_definition_families = list_task_definition_families  # type: ignore[method-assign]
    EC2ContainerServiceResponse._plumb_family_status = True  # type: ignore[attr-defined]


@patch_for("ecs")
def patch_create_cluster() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    if getattr(EC2ContainerServiceBackend, "_plumb_create_cluster", False):
        return
    create = EC2ContainerServiceBackend.create_cluster

    def create_cluster(self: Any, cluster_name: str, *args: Any, **kwargs: Any) -> Any:
        existing = self.clusters.get(cluster_name)
        if existing is not None and existing.status == "ACTIVE":
            return existing
        return create(self, cluster_name, *args, **kwargs)

    EC2ContainerServiceBackend.create_cluster = create_cluster  # type: ignore[method-assign]
    EC2ContainerServiceBackend._plumb_create_cluster = True  # type: ignore[attr-defined]
