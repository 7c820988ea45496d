"""The ECS cluster kind: a cluster with its Container Insights setting and tags.

What makes a cluster risky, and where it is handled:
  - ECS cannot list clusters by tag, so observation is one paginated ListClusters and
    DescribeClusters in batches of 100 with their tags and settings (`_described`): two
    reads for a handful of clusters, and ownership is decided on the tags client-side.
  - CreateCluster is idempotent by name on AWS: called for a name that is already an
    ACTIVE cluster, it answers with that cluster, unchanged, instead of an error. So a
    create whose answer was lost is safe to repeat, and `create` checks the answer's tags:
    a cluster that does not carry this resource's `plumb:id` is someone else's and is
    refused, never taken over. (moto instead replaced the cluster, tags and all;
    plumb_embedded/moto_compat/ecs.py makes it answer as AWS does.)
  - A deleted cluster stays visible as INACTIVE for a while (moto keeps listing it): it
    counts as absent, and so does one DEPROVISIONING. A cluster still PROVISIONING (capacity
    providers being set up) is there but not ready.
  - A cluster that still runs services cannot be deleted (ClusterContainsServicesException):
    that is transient, because the services are deleted first and the next run goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controller.aws.context import Context
from controller.errors import TerminalError
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.iam_scope import Scope, arn, but, tagging
from controller.kinds.registry import register
from controller.model import TAG_ID, Diff, Observed, Resource
from reconcilers._ecs import ECS_ROLE, SERVICE, TAGS, tags_of
from reconcilers._ecs import TAG_ACTIONS as ECS_TAGS
from reconcilers._ownership import by_owner, not_ours

INSIGHTS = "containerInsights"
BATCH = 100  # DescribeClusters takes at most 100 clusters a call
_ACTIVE = "ACTIVE"
_PROVISIONING = "PROVISIONING"
_NOT_FOUND = "ClusterNotFoundException"


def _described(ctx: Context, statuses: tuple[str, ...] = (_ACTIVE, _PROVISIONING)) -> list[Any]:
    """Every cluster of the region in one of `statuses`, with its tags and settings."""
    arns = ctx.describe("ecs", "list_clusters", "clusterArns")
    clusters: list[Any] = []
    for start in range(0, len(arns), BATCH):
        out = ctx.ecs.describe_clusters(
            clusters=arns[start : start + BATCH], include=["TAGS", "SETTINGS"]
        )
        clusters.extend(c for c in out.get("clusters", []) if c.get("status") in statuses)
    return clusters


def owned_clusters(ctx: Context) -> list[dict[str, Any]]:
    """The ACTIVE clusters, as DescribeClusters returns them, that carry a stack in
    `ctx.stacks` (for kinds that run on a cluster and need to find theirs)."""
    return [dict(c) for c in _described(ctx, (_ACTIVE,)) if ctx.owns(tags_of(c))]


_ACTIONS = (
    "ecs:ListClusters",
    "ecs:DescribeClusters",
    "ecs:CreateCluster",
    "ecs:UpdateCluster",
    "ecs:DeleteCluster",
    *ECS_TAGS,
)
_CLUSTER = arn("ecs", "cluster/{name}")


@register
class EcsCluster(BaseReconciler):
    """An ECS cluster with a fixed name, found by its ownership tags."""

    descriptor = Descriptor(
        "EcsCluster",
        SERVICE,
        not_found_codes=frozenset({_NOT_FOUND}),
        # Not terminal: ClusterContainsServicesException / ...TasksException, which clear
        # once the services that run on the cluster are deleted first.
        terminal_codes=frozenset({"ClientException", "UnsupportedFeatureException"}),
        iam=Grants(
            actions=_ACTIONS,
            scopes=(
                Scope(
                    but(_ACTIONS, "ecs:ListClusters", "ecs:DescribeClusters", *ECS_TAGS),
                    (_CLUSTER,),
                ),
                *tagging("ecs:TagResource", "ecs:UntagResource", (_CLUSTER,)),
            ),
            service_linked_roles=ECS_ROLE,
        ),
        tags=TAGS,
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["clusterName"])

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        wanted = {str(r.spec["clusterName"]): r for r in desired}
        listed = ((str(c["clusterName"]), c, tags_of(c)) for c in _described(ctx))
        return by_owner(ctx, listed, wanted, lambda lid, c, tags, mine: _observed(lid, c, ctx))

    def create(self, desired: Resource, ctx: Context) -> Observed:
        insights = str(desired.spec[INSIGHTS])
        cluster = ctx.ecs.create_cluster(
            clusterName=desired.spec["clusterName"],
            tags=ctx.tag_list(desired, "key", "value"),
            settings=[{"name": INSIGHTS, "value": insights}],
        )["cluster"]
        if tags_of(cluster).get(TAG_ID) != desired.logical_id:
            # AWS answered with a cluster of that name that existed before: not ours.
            raise self._taken(desired, cluster)
        return _observed(desired.logical_id, cluster, ctx)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        arn = observed.physical_id
        if diff.changed(INSIGHTS):
            ctx.ecs.update_cluster(
                cluster=arn, settings=[{"name": INSIGHTS, "value": desired.spec[INSIGHTS]}]
            )
        if diff.changed("tags"):
            self.sync_tags(ctx, arn, observed, desired)
        return self.observe_one(desired, ctx, arn)

    def delete(self, observed: Observed, ctx: Context) -> None:
        with self.deleting():
            ctx.ecs.delete_cluster(cluster=observed.physical_id)

    def _taken(self, desired: Resource, cluster: Mapping[str, Any]) -> TerminalError:
        message = (
            f"cluster {cluster.get('clusterName')} already exists and is not this "
            "resource's; plumb never takes over a cluster it did not create"
        )
        return not_ours(self.kind, desired, "ClusterNameTaken", message)


def _insights(cluster: Mapping[str, Any]) -> str | None:
    settings = {s.get("name"): s.get("value") for s in cluster.get("settings") or []}
    return settings.get(INSIGHTS)


def _observed(logical_id: str, cluster: Mapping[str, Any], ctx: Context) -> Observed:
    arn, name = str(cluster["clusterArn"]), str(cluster["clusterName"])
    return Observed(
        kind=EcsCluster.kind,
        logical_id=logical_id,
        physical_id=arn,
        spec={"clusterName": name, INSIGHTS: _insights(cluster)},
        attrs={"id": arn, "arn": arn, "name": name},
        tags=tags_of(cluster),
        ready=cluster.get("status") == _ACTIVE,
        region=ctx.region,
    )
