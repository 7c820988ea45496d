"""The NAT gateway kind: a public NAT gateway in one subnet with one Elastic IP.

Two things make NAT gateways the kind most likely to be duplicated, and both are handled
here:
  - CreateNatGateway is idempotent only through ClientToken. The token is the create
    attempt's (`ctx.client_token`): every send of one attempt, by
    botocore or by plumb after a lost answer, returns the gateway the first send made
    instead of making (and paying for) a second one, and a later attempt (the gateway was
    deleted since) gets a new token, so AWS never answers it with the deleted gateway.
  - moto ignores both ClientToken and tag filters on NAT gateways (docs/moto.md, NAT gateways),
    so ownership is checked on the tags client-side, never trusted to the filter.
States: pending is not ready; deleting and deleted count as absent; failed counts as
absent too (AWS removes it after about an hour) and is reported as a warning.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from controller.aws.context import Context
from controller.kinds.errors import ignoring
from controller.kinds.iam_scope import Scope
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._ec2 import TAG_ACTIONS as EC2_TAGS
from reconcilers._ec2 import Ec2Kind, Raw, created, ec2_arn, observed, owned, sync_tags, tag_scopes

_LIVE = ("pending", "available")
_FAILED = "failed"


@register
class NatGateway(Ec2Kind):
    """A public NAT gateway, found by its ownership tags (checked client-side)."""

    kind = "NatGateway"
    iam_actions = (
        "ec2:DescribeNatGateways",
        "ec2:CreateNatGateway",
        "ec2:DeleteNatGateway",
        *EC2_TAGS,
    )
    iam_scopes = (
        Scope(("ec2:CreateNatGateway",), (ec2_arn("natgateway"),), ("created",)),
        Scope(("ec2:CreateNatGateway",), (ec2_arn("subnet"), ec2_arn("elastic-ip")), ("owned",)),
        Scope(("ec2:DeleteNatGateway",), (ec2_arn("natgateway"),), ("owned",)),
        *tag_scopes("natgateway", "CreateNatGateway"),
    )
    describe_op, list_key, id_key = "describe_nat_gateways", "NatGateways", "NatGatewayId"
    # Deleted before the gateway it routes through can be detached.
    requires = ("Subnet", "ElasticIp", "InternetGateway")
    not_found_codes = frozenset({"NatGatewayNotFound", "InvalidNatGatewayID.NotFound"})
    terminal_codes = frozenset({"NatGatewayLimitExceeded", "IdempotentParameterMismatch"})

    # (region, logical id) -> why its gateway failed. Shared by all instances because the
    # engine asks a fresh reconciler for warnings after another one observed.
    _failures: ClassVar[dict[tuple[str, str], str]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def _describe(self, ctx: Context, filters: list[dict[str, Any]]) -> list[Raw]:
        states = {"Name": "state", "Values": [*_LIVE, _FAILED]}
        return ctx.describe("ec2", self.describe_op, self.list_key, Filters=[*filters, states])

    def _observe(
        self, ctx: Context, filters: list[dict[str, Any]], desired: Sequence[Resource]
    ) -> dict[str, Observed]:
        items = self._describe(ctx, filters)
        live = [r for r in items if r.get("State") in _LIVE]
        failed = {
            lid: raw
            for lid, raw, _ in owned(
                ctx, [r for r in items if r.get("State") == _FAILED], self.id_key
            )
        }
        found = self._grouped(ctx, live)
        self._remember_failures(ctx.region, [r.logical_id for r in desired], found, failed)
        return found

    def _to_observed(self, raw: Raw, ctx: Context, duplicates: list[str]) -> Observed:
        return observed(
            self.kind,
            raw,
            ctx,
            physical_id=raw["NatGatewayId"],
            spec=_spec(raw),
            attrs=_attrs(raw),
            ready=raw.get("State") == "available",
            duplicates=duplicates,
        )

    def warnings(self, desired: Resource, observed: Observed | None) -> list[str]:
        if observed is not None:
            return []
        with self._lock:
            why = self._failures.get((desired.region, desired.logical_id))
        return [why] if why else []

    def create(self, desired: Resource, ctx: Context) -> Observed:
        out = _create(ctx, desired, ctx.client_token())
        return created(
            self.kind,
            desired,
            ctx,
            out["NatGatewayId"],
            _spec(out),
            _attrs(out),
            ready=out.get("State") == "available",
        )

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        # Subnet and address are immutable, so tags are all an update can change.
        if diff.changed("tags"):
            sync_tags(ctx.ec2, observed.physical_id, observed.tags, desired.ownership_tags())
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # Returns at once; the gateway is "deleting" for minutes and holds its address and
        # network interface until it is "deleted" (the Elastic IP's release waits for that).
        with ignoring(self.not_found_codes):
            ctx.ec2.delete_nat_gateway(NatGatewayId=observed.physical_id)

    def _remember_failures(
        self, region: str, ids: list[str], found: dict[str, Observed], failed: dict[str, Raw]
    ) -> None:
        with self._lock:
            for lid in [*ids, *found]:
                self._failures.pop((region, lid), None)
            for lid, raw in failed.items():
                if lid not in found:
                    self._failures[(region, lid)] = (
                        f"NAT gateway {raw['NatGatewayId']} failed "
                        f"({raw.get('FailureCode', 'no code')}: "
                        f"{raw.get('FailureMessage', 'no message')}); plumb creates a new one"
                    )


def _create(ctx: Context, desired: Resource, token: str) -> Raw:
    out = ctx.ec2.create_nat_gateway(
        SubnetId=desired.spec["subnetId"],
        AllocationId=desired.spec["allocationId"],
        ClientToken=token,
        **ctx.tag_specs(desired, "natgateway"),
    )
    return dict(out["NatGateway"])


def _address(raw: Raw) -> Raw:
    addresses = raw.get("NatGatewayAddresses") or [{}]
    return next((a for a in addresses if a.get("IsPrimary")), addresses[0])


def _spec(raw: Raw) -> dict[str, Any]:
    return {"subnetId": raw["SubnetId"], "allocationId": _address(raw).get("AllocationId")}


def _attrs(raw: Raw) -> dict[str, Any]:
    address = _address(raw)
    return {
        "id": raw["NatGatewayId"],
        "subnetId": raw["SubnetId"],
        "vpcId": raw.get("VpcId"),
        "allocationId": address.get("AllocationId"),
        "publicIp": address.get("PublicIp"),
    }
