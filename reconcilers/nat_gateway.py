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
from controller.kinds.descriptor import Descriptor
from controller.kinds.registry import register
from controller.model import Observed, Resource
from reconcilers._ec2 import SERVICE, TAGS, Ec2Kind, Raw, grants, owned_groups

_LIVE = ("pending", "available")
_FAILED = "failed"
_ACTIONS = ("ec2:DescribeNatGateways", "ec2:CreateNatGateway", "ec2:DeleteNatGateway")


@register
class NatGateway(Ec2Kind):
    """A public NAT gateway, found by its ownership tags (checked client-side). Subnet and
    address are immutable, so tags are all an update can change."""

    descriptor = Descriptor(
        "NatGateway",
        SERVICE,
        not_found_codes=frozenset({"NatGatewayNotFound", "InvalidNatGatewayID.NotFound"}),
        terminal_codes=frozenset({"NatGatewayLimitExceeded", "IdempotentParameterMismatch"}),
        # Deleted before the gateway it routes through can be detached.
        requires=("Subnet", "ElasticIp", "InternetGateway"),
        iam=grants(
            "natgateway", "ec2:CreateNatGateway", _ACTIONS, parents=("subnet", "elastic-ip")
        ),
        tags=TAGS,
    )
    describe_op, list_key, id_key = "describe_nat_gateways", "NatGateways", "NatGatewayId"

    # (region, logical id) -> why its gateway failed. Shared by all instances because the
    # engine asks a fresh reconciler for warnings after another one observed.
    _failures: ClassVar[dict[tuple[str, str], str]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def _describe(self, ctx: Context, filters: list[dict[str, Any]]) -> list[Raw]:
        states = {"Name": "state", "Values": [*_LIVE, _FAILED]}
        return super()._describe(ctx, [*filters, states])

    def _observe(
        self, ctx: Context, filters: list[dict[str, Any]], desired: Sequence[Resource]
    ) -> dict[str, Observed]:
        items = self._describe(ctx, filters)
        live = [r for r in items if r.get("State") in _LIVE]
        failing = [r for r in items if r.get("State") == _FAILED]
        failed = {lid: group[0] for lid, group in owned_groups(ctx, failing, self.id_key).items()}
        found = self._grouped(ctx, live)
        self._remember_failures(ctx.region, [r.logical_id for r in desired], found, failed)
        return found

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        return {"subnetId": raw["SubnetId"], "allocationId": _address(raw).get("AllocationId")}

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        address = _address(raw)
        return {
            "id": raw["NatGatewayId"],
            "subnetId": raw["SubnetId"],
            "vpcId": raw.get("VpcId"),
            "allocationId": address.get("AllocationId"),
            "publicIp": address.get("PublicIp"),
        }

    def ready_of(self, raw: Raw) -> bool:
        return raw.get("State") == "available"

    def warnings(self, desired: Resource, observed: Observed | None) -> list[str]:
        if observed is not None:
            return []
        with self._lock:
            why = self._failures.get((desired.region, desired.logical_id))
        return [why] if why else []

    def create(self, desired: Resource, ctx: Context) -> Observed:
        return self.created(desired, ctx, _create(ctx, desired, ctx.client_token()))

    def delete(self, observed: Observed, ctx: Context) -> None:
        # Returns at once; the gateway is "deleting" for minutes and holds its address and
        # network interface until it is "deleted" (the Elastic IP's release waits for that).
        with self.deleting(()):
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
