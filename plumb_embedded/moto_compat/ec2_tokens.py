"""EC2: a ClientToken answers a resend with what the first request made, as on AWS.

moto ignored ClientToken on CreateRouteTable and CreateNatGateway (docs/moto.md, NAT
gateways): a create resent after a lost answer made a second route table, and a second NAT
gateway request failed with Resource.AlreadyAssociated. AWS returns the resource the token
made. plumb relies on that (controller/aws/retry_guard.py lets botocore resend calls that
carry a token), so the embedded endpoint and the tests must behave the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plumb_embedded.moto_compat import patch_for


def _idempotent(create: Callable[[Any], Any], operation: str, key: str) -> Callable[[Any], Any]:
    def create_once(self: Any) -> Any:
        from moto.core.responses import ActionResult

        token = self._get_param("ClientToken")
        made: dict[tuple[str, str], Any] = self.ec2_backend.__dict__.setdefault(
            "_plumb_client_tokens", {}
        )
        if token and (operation, token) in made:
            return ActionResult({key: made[(operation, token)]})
        result = create(self)
        if token:
            made[(operation, token)] = result.result[key]
        return result

    return create_once


@patch_for("ec2")
def patch_client_tokens() -> None:
    from moto.ec2.responses.nat_gateways import NatGateways
    from moto.ec2.responses.route_tables import RouteTables

    for cls, method, operation in (
        (RouteTables, "create_route_table", "CreateRouteTable"),
        (NatGateways, "create_nat_gateway", "CreateNatGateway"),
    ):
        key = operation.removeprefix("Create")  # the answer's member: "RouteTable"
        if getattr(cls, f"_plumb_token_{method}", False):
            continue
        setattr(cls, method, _idempotent(getattr(cls, method), operation, key))
        setattr(cls, f"_plumb_token_{method}", True)
