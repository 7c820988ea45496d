"""The RouteTable reconciler against moto: routes and subnet associations as sets, drift in
either repaired, the local route left alone, delete, lost state, one read per run."""

from __future__ import annotations

from typing import Any

import pytest

from controller.aws.context import Context
from controller.kinds.diff import diff
from controller.kinds.tags import to_dict
from controller.model import Resource
from reconcilers.route_table import RouteTable
from tests.conftest import REGION, reconcile_once
from tests.integration.ec2_calls import ec2, of_stack
from tests.integration.kind_passes import (
    actions_and_writes,
    after_lost_state,
    assert_ec2_delete_transient,
    observe_counted,
)

PUBLIC = "acme-prod/network/rt-public"
PRIVATE = "acme-prod/network/rt-private-us-east-1a"
ANYWHERE = "0.0.0.0/0"


def reconcile(wanted: list[Resource], ctx: Context) -> tuple[dict[str, str], int]:
    return actions_and_writes(RouteTable(), wanted, ctx)


def table(logical_id: str) -> dict[str, Any]:
    flt = [{"Name": "tag:plumb:id", "Values": [logical_id]}]
    [found] = ec2().describe_route_tables(Filters=flt)["RouteTables"]
    return dict(found)


def routes(logical_id: str) -> list[tuple[str, str]]:
    """(destination, target) of every route but the local one, as AWS holds them."""
    out = []
    for route in table(logical_id)["Routes"]:
        target = route.get("NatGatewayId") or route.get("GatewayId")
        if target != "local":
            out.append((route["DestinationCidrBlock"], target))
    return sorted(out)


def associated(logical_id: str) -> list[str]:
    return subnets_of(table(logical_id))


def subnets_of(raw: dict[str, Any]) -> list[str]:
    """The subnets associated with a route table as EC2 describes it."""
    return sorted(a["SubnetId"] for a in raw["Associations"] if a.get("SubnetId"))


def associated_by_id(table_id: str) -> list[str]:
    return subnets_of(ec2().describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0])


class Net:
    """A VPC with two public and two private subnets, an internet gateway and a NAT gateway,
    made directly with boto3: the route tables refer to them by literal ids."""

    def __init__(self, cidr_prefix: str = "10.20") -> None:
        client = ec2()
        self.vpc = client.create_vpc(CidrBlock=f"{cidr_prefix}.0.0/16")["Vpc"]["VpcId"]
        self.public = [self._subnet(f"{cidr_prefix}.{i}.0/24", az) for i, az in enumerate("ab")]
        self.private = [self._subnet(f"{cidr_prefix}.1{i}.0/24", az) for i, az in enumerate("ab")]
        self.igw = client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        client.attach_internet_gateway(InternetGatewayId=self.igw, VpcId=self.vpc)
        allocation = client.allocate_address(Domain="vpc")["AllocationId"]
        self.nat = client.create_nat_gateway(SubnetId=self.public[0], AllocationId=allocation)[
            "NatGateway"
        ]["NatGatewayId"]

    def _subnet(self, cidr: str, az: str) -> str:
        out = ec2().create_subnet(VpcId=self.vpc, CidrBlock=cidr, AvailabilityZone=f"us-east-1{az}")
        return str(out["Subnet"]["SubnetId"])

    def public_table(self, stack: str = "acme-prod", name: str = "network/rt-public") -> Resource:
        return Resource(
            "RouteTable",
            f"{stack}/{name}",
            {
                "vpcId": self.vpc,
                "routes": [{"destination": ANYWHERE, "gatewayId": self.igw}],
                "associations": list(self.public),
            },
            REGION,
            tags={"CostCenter": "4711"},
        )

    def private_table(
        self, stack: str = "acme-prod", name: str = "network/rt-private-us-east-1a"
    ) -> Resource:
        return Resource(
            "RouteTable",
            f"{stack}/{name}",
            {
                "vpcId": self.vpc,
                "routes": [{"destination": ANYWHERE, "natGatewayId": self.nat}],
                "associations": [self.private[0]],
            },
            REGION,
            tags={"CostCenter": "4711"},
        )


@pytest.fixture
def net(aws: None) -> Net:
    return Net()


@pytest.fixture
def tables(ctx: Context, net: Net) -> list[Resource]:
    wanted = [net.public_table(), net.private_table()]
    assert reconcile_once(RouteTable(), wanted, ctx)[0] == {PUBLIC: "create", PRIVATE: "create"}
    return wanted


def test_create_sets_routes_associations_and_tags(tables: list[Resource], net: Net) -> None:
    assert routes(PUBLIC) == [(ANYWHERE, net.igw)]
    assert routes(PRIVATE) == [(ANYWHERE, net.nat)]
    assert associated(PUBLIC) == sorted(net.public)
    assert associated(PRIVATE) == [net.private[0]]
    assert table(PUBLIC)["VpcId"] == net.vpc
    assert to_dict(table(PUBLIC)["Tags"]) == {
        "CostCenter": "4711",
        "plumb:stack": "acme-prod",
        "plumb:id": PUBLIC,
    }


def test_created_observation_diffs_empty(ctx: Context, net: Net) -> None:
    found = RouteTable().create(net.public_table(), ctx)
    assert not diff(net.public_table(), found)
    assert found.attrs["id"] == table(PUBLIC)["RouteTableId"]


def test_the_local_route_is_not_part_of_the_observed_routes(
    ctx: Context, tables: list[Resource]
) -> None:
    found = RouteTable().observe(tables, ctx)[PUBLIC]
    assert [r["destination"] for r in found.spec["routes"]] == [ANYWHERE]


def test_second_pass_is_a_noop_with_zero_writes(ctx: Context, tables: list[Resource]) -> None:
    assert reconcile(tables, ctx) == ({PUBLIC: "noop", PRIVATE: "noop"}, 0)


def test_default_route_deleted_by_hand_is_created_again_with_one_write(
    ctx: Context, tables: list[Resource], net: Net
) -> None:
    ec2().delete_route(RouteTableId=table(PRIVATE)["RouteTableId"], DestinationCidrBlock=ANYWHERE)
    assert reconcile(tables, ctx) == ({PUBLIC: "noop", PRIVATE: "update"}, 1)
    assert routes(PRIVATE) == [(ANYWHERE, net.nat)]


def test_default_route_pointed_elsewhere_by_hand_is_pointed_back(
    ctx: Context, tables: list[Resource], net: Net
) -> None:
    ec2().replace_route(
        RouteTableId=table(PUBLIC)["RouteTableId"],
        DestinationCidrBlock=ANYWHERE,
        NatGatewayId=net.nat,
    )
    assert reconcile(tables, ctx) == ({PUBLIC: "update", PRIVATE: "noop"}, 1)
    assert routes(PUBLIC) == [(ANYWHERE, net.igw)]


def test_route_added_by_hand_is_removed(ctx: Context, tables: list[Resource], net: Net) -> None:
    ec2().create_route(
        RouteTableId=table(PUBLIC)["RouteTableId"],
        DestinationCidrBlock="192.168.0.0/16",
        GatewayId=net.igw,
    )
    assert reconcile(tables, ctx) == ({PUBLIC: "update", PRIVATE: "noop"}, 1)
    assert routes(PUBLIC) == [(ANYWHERE, net.igw)]


def test_association_removed_by_hand_is_made_again(
    ctx: Context, tables: list[Resource], net: Net
) -> None:
    [assoc] = [a for a in table(PUBLIC)["Associations"] if a["SubnetId"] == net.public[1]]
    ec2().disassociate_route_table(AssociationId=assoc["RouteTableAssociationId"])
    assert reconcile(tables, ctx) == ({PUBLIC: "update", PRIVATE: "noop"}, 1)
    assert associated(PUBLIC) == sorted(net.public)


def test_subnet_moved_to_another_table_by_hand_is_moved_back(
    ctx: Context, tables: list[Resource], net: Net
) -> None:
    client = ec2()
    stray = client.create_route_table(VpcId=net.vpc)["RouteTable"]["RouteTableId"]
    [assoc] = table(PRIVATE)["Associations"]
    client.replace_route_table_association(
        AssociationId=assoc["RouteTableAssociationId"], RouteTableId=stray
    )
    assert reconcile(tables, ctx) == ({PUBLIC: "noop", PRIVATE: "update"}, 1)
    assert associated(PRIVATE) == [net.private[0]]
    assert associated_by_id(stray) == []


def test_association_added_by_hand_is_removed(
    ctx: Context, tables: list[Resource], net: Net
) -> None:
    ec2().associate_route_table(
        RouteTableId=table(PRIVATE)["RouteTableId"], SubnetId=net.private[1]
    )
    assert reconcile(tables, ctx) == ({PUBLIC: "noop", PRIVATE: "update"}, 1)
    assert associated(PRIVATE) == [net.private[0]]


def test_a_table_created_for_a_subnet_on_another_table_takes_it_over(
    ctx: Context, net: Net
) -> None:
    client = ec2()
    old = client.create_route_table(VpcId=net.vpc)["RouteTable"]["RouteTableId"]
    client.associate_route_table(RouteTableId=old, SubnetId=net.private[0])
    RouteTable().create(net.private_table(), ctx)
    assert associated(PRIVATE) == [net.private[0]]
    assert associated_by_id(old) == []


def test_delete_disassociates_then_deletes_and_deleting_again_is_success(
    ctx: Context, tables: list[Resource], net: Net
) -> None:
    rec = RouteTable()
    found = rec.observe(tables, ctx)[PUBLIC]
    rec.delete(found, ctx)
    rec.delete(found, ctx)
    flt = [{"Name": "tag:plumb:id", "Values": [PUBLIC]}]
    assert ec2().describe_route_tables(Filters=flt)["RouteTables"] == []
    flt = [{"Name": "association.subnet-id", "Values": net.public}]
    assert ec2().describe_route_tables(Filters=flt)["RouteTables"] == []  # back on the main


def test_delete_after_a_new_association_appeared_is_transient(
    ctx: Context, tables: list[Resource]
) -> None:
    found = RouteTable().observe(tables, ctx)[PRIVATE]
    refused = ("delete_route_table", "DependencyViolation", "The routeTable has dependencies.")
    assert_ec2_delete_transient(RouteTable(), found, ctx, refused, ["disassociate_route_table"])


def test_lost_state_finds_tables_by_their_tags_and_makes_no_second(tables: list[Resource]) -> None:
    after_lost_state(RouteTable(), tables)
    assert len(of_stack("describe_route_tables", "RouteTables")) == 2


def test_observe_reads_every_table_of_two_stacks_with_one_describe(ctx: Context) -> None:
    wanted = []
    for n, stack in enumerate(["acme-prod", "acme-staging"]):
        net = Net(f"10.{n}")
        wanted += [
            net.public_table(stack),
            net.private_table(stack),
            net.private_table(stack, "network/rt-private-us-east-1b"),
        ]
        wanted[-1] = wanted[-1].with_spec({**wanted[-1].spec, "associations": [net.private[1]]})
    for res in wanted:
        RouteTable().create(res, ctx)
    found, ops = observe_counted(RouteTable(), wanted, ctx)
    assert ops == {"ec2:DescribeRouteTables": 1}
    assert all(not diff(r, found[r.logical_id]) for r in wanted)
