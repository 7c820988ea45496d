"""The route table kind, with its routes and its subnet associations.

Routes are a set of `{destination, <target>}`: the `local` route AWS adds is not managed
and propagated routes are not either; any other route is, so one added by hand is drift and
is removed. Associations are a set of subnet ids and belong to the table: a subnet moved
to another table by hand is moved back (replace association), an extra one is removed.
All tables of all stacks in scope are read with one DescribeRouteTables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from controller.aws.context import Context
from controller.kinds.descriptor import Descriptor
from controller.kinds.errors import ignoring
from controller.kinds.iam_scope import Scope
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._ec2 import SERVICE, TAGS, Ec2Kind, Raw, ec2_arn, grants

# Route target: AWS field -> spec field. An instance route also names its interface,
# which is what a route can be created with, so the instance id is left out.
_TARGETS = {
    "GatewayId": "gatewayId",
    "NatGatewayId": "natGatewayId",
    "TransitGatewayId": "transitGatewayId",
    "VpcPeeringConnectionId": "vpcPeeringConnectionId",
    "NetworkInterfaceId": "networkInterfaceId",
    "EgressOnlyInternetGatewayId": "egressOnlyInternetGatewayId",
    "CarrierGatewayId": "carrierGatewayId",
    "LocalGatewayId": "localGatewayId",
}
# Destination: AWS field -> spec field. Only IPv4 `destination` can be desired; the others
# are observed so that a route added by hand is seen and removed.
_DESTINATIONS = {
    "DestinationCidrBlock": "destination",
    "DestinationIpv6CidrBlock": "destinationIpv6",
    "DestinationPrefixListId": "destinationPrefixListId",
}


_ASSOCIATIONS = (
    "ec2:AssociateRouteTable",
    "ec2:DisassociateRouteTable",
    "ec2:ReplaceRouteTableAssociation",
)
_ACTIONS = (
    "ec2:DescribeRouteTables",
    "ec2:CreateRouteTable",
    "ec2:DeleteRouteTable",
    "ec2:CreateRoute",
    "ec2:ReplaceRoute",
    "ec2:DeleteRoute",
    *_ASSOCIATIONS,
)


@register
class RouteTable(Ec2Kind):
    """A VPC route table with its routes and subnet associations, found by its tags."""

    descriptor = Descriptor(
        "RouteTable",
        SERVICE,
        not_found_codes=frozenset({"InvalidRouteTableID.NotFound"}),
        terminal_codes=frozenset({"RouteTableLimitExceeded", "RouteLimitExceeded"}),
        requires=("Vpc", "Subnet", "InternetGateway", "NatGateway"),
        iam=grants(
            "route-table",
            "ec2:CreateRouteTable",
            _ACTIONS,
            Scope(_ASSOCIATIONS, (ec2_arn("subnet"),), ("owned",)),
            parents=("vpc",),
        ),
        tags=TAGS,
    )
    describe_op, list_key, id_key = "describe_route_tables", "RouteTables", "RouteTableId"

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        return {
            "vpcId": raw["VpcId"],
            "routes": _routes(raw),
            "associations": sorted(_associations(raw)),
        }

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        return {
            "id": raw["RouteTableId"],
            "vpcId": raw["VpcId"],
            "associationIds": _associations(raw),
        }

    def create(self, desired: Resource, ctx: Context) -> Observed:
        out = ctx.ec2.create_route_table(
            VpcId=desired.spec["vpcId"],
            ClientToken=ctx.client_token(),  # the attempt's: a resend returns the same table
            **ctx.tag_specs(desired, "route-table"),
        )["RouteTable"]
        rtb = out["RouteTableId"]
        routes = list(desired.spec["routes"])
        subnets = sorted(desired.spec["associations"])
        _sync_routes(ctx.ec2, rtb, [], routes)
        links = _sync_associations(ctx, rtb, {}, subnets)
        spec = {"vpcId": out["VpcId"], "routes": routes, "associations": subnets}
        attrs = {"id": rtb, "vpcId": out["VpcId"], "associationIds": links}
        return self.created(desired, ctx, out, spec, attrs)

    def modify(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> None:
        rtb = observed.physical_id
        if diff.changed("routes"):
            _sync_routes(ctx.ec2, rtb, observed.spec.get("routes") or [], desired.spec["routes"])
        if diff.changed("associations"):
            _sync_associations(
                ctx, rtb, observed.attrs.get("associationIds") or {}, desired.spec["associations"]
            )

    def delete(self, observed: Observed, ctx: Context) -> None:
        # An association made since the observation makes the delete fail; the next run
        # observes it and disassociates it first.
        with self.deleting():
            for assoc_id in (observed.attrs.get("associationIds") or {}).values():
                _disassociate(ctx.ec2, assoc_id)
            ctx.ec2.delete_route_table(RouteTableId=observed.physical_id)


# -- observing ------------------------------------------------------------------------


def _routes(raw: Raw) -> list[dict[str, str]]:
    out = []
    for route in raw.get("Routes") or ():
        if route.get("GatewayId") == "local" or route.get("Origin") == "EnableVgwRoutePropagation":
            continue
        item = {spec: str(route[aws]) for aws, spec in _DESTINATIONS.items() if route.get(aws)}
        target = next(
            ((spec, route[aws]) for aws, spec in _TARGETS.items() if route.get(aws)), None
        )
        if target:
            item[target[0]] = str(target[1])
        out.append(item)
    return sorted(out, key=_canonical)


def _associations(raw: Raw) -> dict[str, str]:
    """Subnet id -> association id, for the explicit subnet associations only."""
    return {
        str(a["SubnetId"]): str(a["RouteTableAssociationId"])
        for a in raw.get("Associations") or ()
        if a.get("SubnetId")
        and not a.get("Main")
        and (a.get("AssociationState") or {}).get("State", "associated")
        in ("associated", "associating")
    }


# -- writing --------------------------------------------------------------------------


def _sync_routes(
    ec2: Any, rtb: str, have: Sequence[Mapping[str, Any]], want: Sequence[Mapping[str, Any]]
) -> None:
    """Create the missing routes, retarget the changed ones, delete the extra ones."""
    have_by = {_destination(r): r for r in have}
    want_by = {_destination(r): r for r in want}
    for dest, route in want_by.items():
        if dest not in have_by:
            ec2.create_route(RouteTableId=rtb, **_route_args(route))
        elif _canonical(have_by[dest]) != _canonical(route):
            ec2.replace_route(RouteTableId=rtb, **_route_args(route))
    for dest, route in have_by.items():
        if dest not in want_by:
            with ignoring({"InvalidRoute.NotFound"}):
                ec2.delete_route(RouteTableId=rtb, **_destination_args(route))


def _sync_associations(
    ctx: Context, rtb: str, have: Mapping[str, str], want: Sequence[str]
) -> dict[str, str]:
    """Associate the missing subnets (taking them from another table if they are on one),
    drop the extra ones; returns subnet id -> association id for the wanted ones."""
    links = {s: a for s, a in have.items() if s in want}
    for subnet, assoc_id in have.items():
        if subnet not in want:
            _disassociate(ctx.ec2, assoc_id)
    missing = sorted(set(want) - set(have))
    if not missing:
        return links
    elsewhere = _current_associations(ctx, missing, rtb)
    for subnet in missing:
        if subnet in elsewhere:
            out = ctx.ec2.replace_route_table_association(
                AssociationId=elsewhere[subnet], RouteTableId=rtb
            )
            links[subnet] = out["NewAssociationId"]
        else:
            out = ctx.ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet)
            links[subnet] = out["AssociationId"]
    return links


def _current_associations(ctx: Context, subnets: list[str], rtb: str) -> dict[str, str]:
    """Subnet -> association id on another table. AWS refuses a second association
    (moto accepts it), so a subnet on another table is moved with a replace."""
    tables = ctx.describe(
        "ec2",
        "describe_route_tables",
        "RouteTables",
        Filters=[{"Name": "association.subnet-id", "Values": subnets}],
    )
    return {
        subnet: assoc_id
        for table in tables
        if table["RouteTableId"] != rtb
        for subnet, assoc_id in _associations(table).items()
        if subnet in subnets
    }


def _disassociate(ec2: Any, assoc_id: str) -> None:
    with ignoring({"InvalidAssociationID.NotFound"}):
        ec2.disassociate_route_table(AssociationId=assoc_id)


def _destination(route: Mapping[str, Any]) -> tuple[str, str]:
    key = next(spec for spec in _DESTINATIONS.values() if spec in route)
    return key, str(route[key])


def _destination_args(route: Mapping[str, Any]) -> dict[str, str]:
    key, value = _destination(route)
    aws = next(a for a, s in _DESTINATIONS.items() if s == key)
    return {aws: value}


def _route_args(route: Mapping[str, Any]) -> dict[str, str]:
    args = _destination_args(route)
    for aws, spec in _TARGETS.items():
        if spec in route:
            args[aws] = str(route[spec])
    return args


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
