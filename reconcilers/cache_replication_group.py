"""The ElastiCache Redis kind: a one-node replication group (no replica, no failover), AWS's
current form, which carries encryption at rest and in transit (docs/design.md, The stack).

What makes it risky, and where it is handled:
  - False drift on the engine version: "7.1" asked for is reported as "7.1.x" (crossplane
    provider-aws #909); the schema compares it with "version", so any 7.1.x satisfies it.
  - Half the settings live elsewhere: AWS reports the security groups, subnet group and
    engine version on the member cache clusters, not on the group. They are read from the
    first member (`_cache_members.details`), for desired owned groups only; orphans need
    none.
  - No tag filter and no tags in the listing: ownership costs one ListTagsForResource per
    group that could be ours (`_ownership.could_be_ours`, which says the trade-off). AWS
    refuses tag calls on a group that is not available (InvalidReplicationGroupState,
    terraform-provider-aws #33859): ownership is then unknown, so the read fails and the kind
    is unknown this run (`_tags`); it is never guessed. An update writes tags before the
    modify, while the group is still available, and reads back with the tags it wrote.
  - States: "creating" is not ready; "modifying" and "snapshotting" still serve; "deleting"
    and "create-failed" count as absent (moto left deleted groups "deleting" forever).
  - Data: the kind is stateful; a delete takes a final snapshot unless the group keeps none.
moto did not make the member clusters nor forget deleted groups (docs/moto.md, ElastiCache);
plumb_embedded/moto_compat/elasticache.py makes it behave as AWS does.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.errors import TransientError
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.errors import error_code, ignoring
from controller.kinds.iam_scope import Scope, arn, tagging
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._cache_members import details, member_reader, primary
from reconcilers._elasticache import SERVICE, TAGS, Raw, read_tags
from reconcilers._elasticache import TAG_ACTIONS as CACHE_TAGS
from reconcilers._ownership import by_owner, could_be_ours, tagged

_NOT_FOUND = "ReplicationGroupNotFoundFault"
_TAKEN = "ReplicationGroupAlreadyExists"
_NOT_AVAILABLE = "InvalidReplicationGroupState"
_GONE = frozenset({"deleting", "create-failed"})
_SERVING = frozenset({"available", "modifying", "snapshotting"})
# spec field -> ModifyReplicationGroup parameter; the rest cannot change in place.
_MODIFIABLE = {
    "description": "ReplicationGroupDescription",
    "nodeType": "CacheNodeType",
    "engineVersion": "EngineVersion",
    "securityGroupIds": "SecurityGroupIds",
    "snapshotRetentionDays": "SnapshotRetentionLimit",
    "automaticFailover": "AutomaticFailoverEnabled",
}

_GROUP = arn("elasticache", "replicationgroup:{name}")
_MEMBERS = arn("elasticache", "cluster:{name}-*")
# Parameter groups are used, never written: AWS names the default ones (default.redis7).
_PARAMETERS = arn("elasticache", "parametergroup:*")


@register
class CacheReplicationGroup(BaseReconciler):
    """A Redis replication group with a fixed id, found by its ownership tags."""

    descriptor = Descriptor(
        "CacheReplicationGroup",
        SERVICE,
        not_found_codes=frozenset({_NOT_FOUND}),
        # ReplicationGroupAlreadyExists is left out: our own group still being deleted clears.
        terminal_codes=frozenset(
            {
                "CacheSubnetGroupNotFoundFault",
                "CacheParameterGroupNotFound",
                "InsufficientCacheClusterCapacity",
                "NodeQuotaForClusterExceeded",
                "NodeQuotaForCustomerExceeded",
                "ClusterQuotaForCustomerExceeded",
                "InvalidVPCNetworkStateFault",
                "SnapshotAlreadyExistsFault",
            }
        ),
        stateful=True,
        requires=("CacheSubnetGroup", "SecurityGroup"),
        iam=Grants(
            actions=(
                "elasticache:DescribeReplicationGroups",
                "elasticache:DescribeCacheClusters",
                "elasticache:CreateReplicationGroup",
                "elasticache:ModifyReplicationGroup",
                "elasticache:DeleteReplicationGroup",
                *CACHE_TAGS,
            ),
            scopes=(
                Scope(
                    ("elasticache:CreateReplicationGroup",),
                    (
                        _GROUP,
                        _MEMBERS,
                        _PARAMETERS,
                        arn("elasticache", "subnetgroup:{name:CacheSubnetGroup}"),
                    ),
                ),
                Scope(("elasticache:ModifyReplicationGroup",), (_GROUP, _PARAMETERS)),
                Scope(
                    ("elasticache:DeleteReplicationGroup",),
                    (_GROUP, arn("elasticache", "snapshot:{name}-final-*")),
                ),
                *tagging(
                    "elasticache:AddTagsToResource",
                    "elasticache:RemoveTagsFromResource",
                    (_GROUP, _MEMBERS),
                ),
            ),
            service_linked_roles=("elasticache.amazonaws.com",),
        ),
        tags=TAGS,
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["replicationGroupId"])

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        groups = ctx.describe("elasticache", "describe_replication_groups", "ReplicationGroups")
        return self._sort(ctx, groups, desired)

    def observe_one(self, desired: Resource, ctx: Context, physical_id: str = "") -> Observed:
        found = self._sort(ctx.only({desired.stack}), _describe_one(ctx, desired), [desired])
        return self.must_see(found.get(desired.logical_id), desired)

    def _sort(
        self, ctx: Context, groups: Sequence[Raw], desired: Sequence[Resource]
    ) -> dict[str, Observed]:
        wanted = {str(r.spec["replicationGroupId"]): r for r in desired}
        member = member_reader(ctx, batched=len(wanted) > 1)

        def read(lid: str, group: Raw, tags: dict[str, str], mine: Resource | None) -> Observed:
            found = details(group, mine, member) if mine is not None else {}
            return _observed(lid, group, found, tags, ctx)

        listed = tagged(
            [g for g in groups if g.get("Status") not in _GONE],
            lambda group: str(group["ReplicationGroupId"]),
            partial(could_be_ours, ctx, wanted=wanted),
            partial(_tags, ctx),
        )
        return by_owner(ctx, listed, wanted, read)

    def create(self, desired: Resource, ctx: Context) -> Observed:
        try:
            out = ctx.elasticache.create_replication_group(**_create_args(desired, ctx))
        except ClientError as err:
            if error_code(err) != _TAKEN:
                raise
            return self.adopt_own(desired, ctx, err)
        # The members are only being made: what was sent for them is what they will have.
        spec = desired.spec
        sent = {k: spec[k] for k in ("engineVersion", "subnetGroupName") if k in spec}
        made = {**sent, "securityGroupIds": sorted(spec.get("securityGroupIds", []))}
        group = out["ReplicationGroup"]
        return _observed(desired.logical_id, group, made, desired.ownership_tags(), ctx)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        tags = dict(observed.tags)
        if diff.changed("tags"):
            # First: AWS refuses tag calls once the modify below has started.
            self.sync_tags(ctx, observed.attrs["arn"], observed, desired)
            tags = desired.ownership_tags()
        changes = {
            param: _aws_value(field, desired.spec[field])
            for field, param in _MODIFIABLE.items()
            if diff.changed(field)
        }
        if changes:
            ctx.elasticache.modify_replication_group(
                ReplicationGroupId=observed.physical_id, ApplyImmediately=True, **changes
            )
        # Read back without a tag read: AWS refuses one while the modify runs.
        live = [g for g in _describe_one(ctx, desired) if g.get("Status") not in _GONE]
        if not live:
            return self.must_see(None, desired)
        found = details(live[0], desired, member_reader(ctx, batched=False))
        return _observed(desired.logical_id, live[0], found, tags, ctx)

    def delete(self, observed: Observed, ctx: Context) -> None:
        group_id = observed.physical_id
        final: dict[str, str] = {}
        if observed.spec.get("snapshotRetentionDays"):
            stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S")
            final["FinalSnapshotIdentifier"] = f"{group_id}-final-{stamp}"
        with self.deleting():
            ctx.elasticache.delete_replication_group(ReplicationGroupId=group_id, **final)


# -- reading --------------------------------------------------------------------------


def _describe_one(ctx: Context, desired: Resource) -> list[Raw]:
    group_id = str(desired.spec["replicationGroupId"])
    with ignoring({_NOT_FOUND}):
        out = ctx.elasticache.describe_replication_groups(ReplicationGroupId=group_id)
        return list(out.get("ReplicationGroups", []))
    return []


def _tags(ctx: Context, group: Raw) -> dict[str, str] | None:
    try:
        return read_tags(ctx, group["ARN"], {_NOT_FOUND})
    except ClientError as err:
        if error_code(err) != _NOT_AVAILABLE:
            raise
        raise TransientError(
            f"the tags of replication group {group['ReplicationGroupId']} cannot be read while "
            f"it is {group.get('Status')}, so whose it is is unknown; it is observed again on "
            "the next run",
            _NOT_AVAILABLE,
        ) from err


def _observed(
    logical_id: str,
    group: Raw,
    details: Mapping[str, Any],
    tags: Mapping[str, str],
    ctx: Context,
) -> Observed:
    endpoint = primary(group).get("PrimaryEndpoint") or {}
    reader = primary(group).get("ReaderEndpoint") or {}
    group_id = str(group["ReplicationGroupId"])
    spec = {
        "replicationGroupId": group_id,
        "description": group.get("Description", ""),
        "nodeType": group.get("CacheNodeType"),
        "engine": group.get("Engine", "redis"),
        "numCacheClusters": len(group.get("MemberClusters") or []),
        "automaticFailover": group.get("AutomaticFailover") in ("enabled", "enabling"),
        "snapshotRetentionDays": group.get("SnapshotRetentionLimit", 0),
        "atRestEncryption": bool(group.get("AtRestEncryptionEnabled")),
        "transitEncryption": bool(group.get("TransitEncryptionEnabled")),
        "port": endpoint.get("Port"),
        **details,
    }
    return Observed(
        kind=CacheReplicationGroup.kind,
        logical_id=logical_id,
        physical_id=group_id,
        spec={k: v for k, v in spec.items() if v is not None},
        attrs={
            "id": group_id,
            "arn": group["ARN"],
            "primaryEndpoint": endpoint.get("Address"),
            "readerEndpoint": reader.get("Address"),
            "port": endpoint.get("Port"),
        },
        tags=dict(tags),
        ready=group.get("Status") in _SERVING,
        region=ctx.region,
    )


# -- writing --------------------------------------------------------------------------


def _aws_value(field: str, value: Any) -> Any:
    return sorted(value) if field == "securityGroupIds" else value


def _create_args(desired: Resource, ctx: Context) -> dict[str, Any]:
    spec = desired.spec
    args: dict[str, Any] = {
        "ReplicationGroupId": spec["replicationGroupId"],
        "ReplicationGroupDescription": spec["description"],
        "Engine": spec["engine"],
        "CacheNodeType": spec["nodeType"],
        "NumCacheClusters": spec["numCacheClusters"],
        "AutomaticFailoverEnabled": spec["automaticFailover"],
        "MultiAZEnabled": False,
        "CacheSubnetGroupName": spec["subnetGroupName"],
        "SecurityGroupIds": sorted(spec.get("securityGroupIds", [])),
        "SnapshotRetentionLimit": spec["snapshotRetentionDays"],
        "AtRestEncryptionEnabled": spec["atRestEncryption"],
        "TransitEncryptionEnabled": spec["transitEncryption"],
        "Port": spec["port"],
        "Tags": ctx.tag_list(desired),
    }
    if "engineVersion" in spec:
        args["EngineVersion"] = spec["engineVersion"]
    return args
