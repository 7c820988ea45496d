"""EC2: a deleted NAT gateway releases its Elastic IP's association, as AWS does once the
gateway reaches `deleted`; moto kept it associated forever, so the address could never be
reused by a replacement gateway."""

from __future__ import annotations

from typing import Any

from plumb_embedded.moto_compat import patch_for


@patch_for("ec2")
def patch_nat_release() -> None:
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
