"""The ECS service kind: a Fargate service in awsvpc mode, optionally behind a target group.

What makes a service risky, and where it is handled:
  - ECS lists services per cluster and cannot filter them by tag. Observe lists the
    services of the clusters the stacks own (`owned_clusters`) and of the clusters the
    desired services name, then DescribeServices in batches of 10 with their tags;
    ownership is decided on the tags. A desired name taken by a service without our tags
    is `owned=False`, never taken over.
  - A deleted service stays visible (DRAINING, then INACTIVE; moto keeps listing INACTIVE
    ones: docs/moto.md, ECS services): anything not ACTIVE counts as absent.
  - A create whose answer was lost must not make a second service: CreateService gets the
    create attempt's client token (`ctx.client_token`, stable across
    every send of one attempt, new for the next), and a "not idempotent" answer for a
    service that carries our `plumb:id` adopts it (`adopt_own`). The model does not mark
    clientToken as an idempotency token, so the call is also guarded: after a lost answer
    plumb observes before it sends it again.
  - UpdateService starts a deployment: an update is ONE call carrying only the changed
    fields, the task definition always as its full ARN (docs/moto.md, ECS services).
  - Fields ECS defaults (deployment percents, circuit breaker, grace period) are read back
    with AWS's defaults, so a spec that names the defaults sees no drift.
  - ready: the PRIMARY deployment's rollout has COMPLETED (or, reporting no state, the
    desired tasks run); otherwise ready=False with the rollout state as a warning.
moto dropped the grace period, deploymentConfiguration and enableECSManagedTags at create
and replaced a service created twice; both are patched (plumb_embedded/moto_compat/ecs.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.errors import TransientError
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.errors import error_code, error_message, ignoring
from controller.kinds.iam_scope import Scope, arn, but, tagging
from controller.kinds.registry import register
from controller.model import TAG_ID, Diff, Observed, Resource
from reconcilers._ecs import ECS_ROLE, SERVICE, TAGS, tags_of
from reconcilers._ecs import TAG_ACTIONS as ECS_TAGS
from reconcilers._ecs_service_calls import TOKEN_MAX, create_args, update_args
from reconcilers.ecs_cluster import owned_clusters

Raw = Mapping[str, Any]
BATCH = 10  # DescribeServices takes at most 10 services a call
_ACTIVE = "ACTIVE"
_CLUSTER_GONE = "ClusterNotFoundException"
_NOT_FOUND = frozenset({"ServiceNotFoundException", "ServiceNotActiveException"})
_BALANCER = ("targetGroupArn", "containerName", "containerPort")
_READS = ("ecs:ListClusters", "ecs:DescribeClusters", "ecs:ListServices", "ecs:DescribeServices")
_ACTIONS = (*_READS, "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", *ECS_TAGS)
_SERVICE = arn("ecs", "service/{name:EcsCluster}/{name}")


@register
class EcsService(BaseReconciler):
    """A service found by its ownership tags in the clusters it may run on."""

    descriptor = Descriptor(
        "EcsService",
        SERVICE,
        not_found_codes=_NOT_FOUND,
        terminal_codes=frozenset(
            {
                "ClientException",
                _CLUSTER_GONE,
                "PlatformUnknownException",
                "PlatformTaskDefinitionIncompatibilityException",
            }
        ),
        requires=("EcsCluster", "TaskDefinition", "TargetGroup", "Subnet", "SecurityGroup"),
        name_scope="",
        iam=Grants(
            actions=_ACTIONS,
            scopes=(
                Scope(but(_ACTIONS, *_READS, *ECS_TAGS), (_SERVICE,)),
                *tagging("ecs:TagResource", "ecs:UntagResource", (_SERVICE,)),
            ),
            service_linked_roles=ECS_ROLE,
        ),
        tags=TAGS,
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["serviceName"])

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        services = [raw for arn in _clusters(ctx, desired) for raw in _services_in(ctx, arn)]
        found: dict[str, Observed] = {}
        for raw in services:
            tags = tags_of(raw)
            if ctx.owns(tags) and tags[TAG_ID] not in found:
                found[tags[TAG_ID]] = _observed(tags[TAG_ID], raw, tags, ctx)
        for res in desired:
            if res.logical_id in found:
                continue
            taken = next((raw for raw in services if _same_name(raw, res)), None)
            if taken is not None:
                found[res.logical_id] = _observed(
                    res.logical_id, taken, tags_of(taken), ctx, owned=False
                )
        return found

    def create(self, desired: Resource, ctx: Context) -> Observed:
        try:
            out = ctx.ecs.create_service(**create_args(desired, ctx, ctx.client_token(TOKEN_MAX)))
        except ClientError as err:
            if not _name_taken(err):
                raise
            return self.adopt_own(desired, ctx, err)
        raw = out["service"]
        return _observed(desired.logical_id, raw, desired.ownership_tags(), ctx)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        cluster, arn = observed.attrs["clusterArn"], observed.attrs["arn"]
        changes = update_args(desired.spec, diff)
        if changes:
            ctx.ecs.update_service(cluster=cluster, service=arn, **changes)
        if diff.changed("tags"):
            self.sync_tags(ctx, arn, observed, desired)
        return self.must_see(_read_back(ctx, desired, cluster, arn), desired)

    def delete(self, observed: Observed, ctx: Context) -> None:
        cluster, arn = observed.attrs["clusterArn"], observed.attrs["arn"]
        with ignoring(self.descriptor.not_found_codes | {_CLUSTER_GONE}):
            ctx.ecs.update_service(cluster=cluster, service=arn, desiredCount=0)
            ctx.ecs.delete_service(cluster=cluster, service=arn, force=True)

    def warnings(self, desired: Resource, observed: Observed | None) -> list[str]:
        return list(observed.warnings) if observed is not None and observed.owned else []


# -- reading ----------------------------------------------------------------------------


def _name_taken(err: ClientError) -> bool:
    """AWS's answer to a create over an ACTIVE service of the same name."""
    code, message = error_code(err), error_message(err)
    return code == "InvalidParameterException" and "not idempotent" in message


def _clusters(ctx: Context, desired: Sequence[Resource]) -> list[str]:
    """The stacks' clusters, and those the desired services name (resolved ARNs only)."""
    arns = {str(c["clusterArn"]) for c in owned_clusters(ctx)}
    for res in desired:
        cluster = res.spec.get("cluster")
        if isinstance(cluster, str) and cluster.startswith("arn:"):
            arns.add(cluster)
    return sorted(arns)


def _services_in(ctx: Context, cluster: str) -> list[Raw]:
    """The cluster's ACTIVE services with their tags; a cluster that is gone has none."""
    try:
        arns = ctx.describe("ecs", "list_services", "serviceArns", cluster=cluster)
    except ClientError as err:
        if error_code(err) == _CLUSTER_GONE:
            return []
        raise
    return _describe(ctx, cluster, arns)


def _describe(ctx: Context, cluster: str, arns: Sequence[str]) -> list[Raw]:
    services: list[Raw] = []
    for start in range(0, len(arns), BATCH):
        out = ctx.ecs.describe_services(
            cluster=cluster, services=list(arns[start : start + BATCH]), include=["TAGS"]
        )
        # MISSING is a service deleted since the listing; any other failure is a failed read.
        failed = [f for f in out.get("failures", []) if f.get("reason") != "MISSING"]
        if failed:
            raise TransientError(f"DescribeServices failed: {failed}", "DescribeServicesFailure")
        services.extend(s for s in out.get("services", []) if s.get("status") == _ACTIVE)
    return services


def _read_back(ctx: Context, desired: Resource, cluster: str, arn: str) -> Observed | None:
    for raw in _describe(ctx, cluster, [arn]):
        tags = tags_of(raw)
        return _observed(desired.logical_id, raw, tags, ctx, owned=ctx.owns(tags))
    return None


def _same_name(raw: Raw, res: Resource) -> bool:
    cluster = res.spec.get("cluster")
    in_cluster = not isinstance(cluster, str) or cluster in (
        raw["clusterArn"],
        raw["clusterArn"].rsplit("/", 1)[-1],
    )
    return raw["serviceName"] == res.spec.get("serviceName") and in_cluster


def _rollout(raw: Raw) -> str:
    """ "" when the service is ready; otherwise what its rollout is doing."""
    deployments = raw.get("deployments") or []
    primary: Raw = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
    state = primary.get("rolloutState")
    running, wanted = raw.get("runningCount", 0), raw.get("desiredCount", 0)
    # A completed rollout is ready even while ECS stops surplus tasks (running > desired
    # after a scale-in); without a rollout state, the desired tasks must be running.
    if state == "COMPLETED" or (state is None and running >= wanted):
        return ""
    reason = primary.get("rolloutStateReason")
    return f"rollout {state or 'pending'}: {running} of {wanted} tasks running" + (
        f" ({reason})" if reason else ""
    )


def _to_spec(raw: Raw) -> dict[str, Any]:
    """The service on the spec's shape, ECS's defaults filled in as ECS applies them."""
    net = (raw.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    deployment = raw.get("deploymentConfiguration") or {}
    breaker = deployment.get("deploymentCircuitBreaker") or {}
    balancers = raw.get("loadBalancers") or []
    return {
        "serviceName": raw["serviceName"],
        "cluster": raw["clusterArn"],
        "taskDefinition": raw.get("taskDefinition"),
        "desiredCount": raw.get("desiredCount"),
        "launchType": raw.get("launchType"),
        "subnets": sorted(net.get("subnets") or []),
        "securityGroups": sorted(net.get("securityGroups") or []),
        "assignPublicIp": net.get("assignPublicIp", "DISABLED"),
        "loadBalancer": {k: balancers[0].get(k) for k in _BALANCER} if balancers else None,
        "healthCheckGracePeriodSeconds": raw.get("healthCheckGracePeriodSeconds", 0),
        "deploymentCircuitBreaker": {
            "enable": bool(breaker.get("enable", False)),
            "rollback": bool(breaker.get("rollback", False)),
        },
        "minimumHealthyPercent": deployment.get("minimumHealthyPercent", 100),
        "maximumPercent": deployment.get("maximumPercent", 200),
    }


def _observed(
    logical_id: str, raw: Raw, tags: Mapping[str, str], ctx: Context, owned: bool = True
) -> Observed:
    rollout = _rollout(raw)
    return Observed(
        kind=EcsService.kind,
        logical_id=logical_id,
        physical_id=raw["serviceArn"],
        spec=_to_spec(raw),
        attrs={
            "id": raw["serviceArn"],
            "arn": raw["serviceArn"],
            "name": raw["serviceName"],
            "clusterArn": raw["clusterArn"],
        },
        tags=dict(tags),
        owned=owned,
        ready=not rollout,
        region=ctx.region,
        warnings=(rollout,) if rollout else (),
    )
