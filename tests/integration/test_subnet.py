"""The Subnet reconciler against moto: create, read back, no-op, drift repair, delete, lost state,
and one read for every subnet of every stack in scope."""

from __future__ import annotations

from typing import Any

import pytest

from controller.aws.context import Context
from controller.errors import TerminalError
from controller.kinds.diff import diff
from controller.kinds.tags import to_dict
from controller.model import Resource
from reconcilers.subnet import Subnet
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.ec2_calls import ec2
from tests.integration.kind_passes import (
    after_lost_state,
    assert_ec2_delete_transient,
    observe_counted,
)

PUBLIC = "acme-prod/network/subnet-public-us-east-1a"
PRIVATE = "acme-prod/network/subnet-private-us-east-1b"


def subnet(
    vpc_id: str,
    tier: str = "public",
    az: str = "us-east-1a",
    cidr: str = "10.20.0.0/24",
    stack: str = "acme-prod",
) -> Resource:
    spec = {
        "vpcId": vpc_id,
        "cidr": cidr,
        "availabilityZone": az,
        "mapPublicIpOnLaunch": tier == "public",
    }
    return Resource(
        "Subnet", f"{stack}/network/subnet-{tier}-{az}", spec, REGION, tags={"CostCenter": "4711"}
    )


def subnets_tagged(logical_id: str) -> list[dict[str, Any]]:
    flt = [{"Name": "tag:plumb:id", "Values": [logical_id]}]
    return ec2().describe_subnets(Filters=flt)["Subnets"]


@pytest.fixture
def vpc_id(aws: None) -> str:
    return str(ec2().create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"])


@pytest.fixture
def pair(ctx: Context, vpc_id: str) -> list[Resource]:
    """A public and a private subnet, created."""
    wanted = [subnet(vpc_id), subnet(vpc_id, "private", "us-east-1b", "10.20.11.0/24")]
    actions, _ = reconcile_once(Subnet(), wanted, ctx)
    assert actions == {PUBLIC: "create", PRIVATE: "create"}
    return wanted


def test_create_sets_vpc_cidr_zone_public_ip_and_tags(pair: list[Resource], vpc_id: str) -> None:
    [public], [private] = subnets_tagged(PUBLIC), subnets_tagged(PRIVATE)
    assert (public["VpcId"], public["CidrBlock"], public["AvailabilityZone"]) == (
        vpc_id,
        "10.20.0.0/24",
        "us-east-1a",
    )
    assert (private["VpcId"], private["CidrBlock"], private["AvailabilityZone"]) == (
        vpc_id,
        "10.20.11.0/24",
        "us-east-1b",
    )
    assert public["MapPublicIpOnLaunch"] is True
    assert private["MapPublicIpOnLaunch"] is False
    assert to_dict(public["Tags"]) == {
        "CostCenter": "4711",
        "plumb:stack": "acme-prod",
        "plumb:id": PUBLIC,
    }


def test_created_observation_diffs_empty_and_carries_id_and_arn(ctx: Context, vpc_id: str) -> None:
    found = Subnet().create(subnet(vpc_id), ctx)
    assert not diff(subnet(vpc_id), found)
    assert found.attrs["id"] == subnets_tagged(PUBLIC)[0]["SubnetId"]
    assert found.attrs["arn"].endswith(f":subnet/{found.physical_id}")


def test_second_pass_is_a_noop_with_zero_writes(ctx: Context, pair: list[Resource]) -> None:
    holder: dict[str, Any] = {}
    writes, _ = count_calls(ctx, lambda: holder.update(out=reconcile_once(Subnet(), pair, ctx)))
    assert holder["out"][0] == {PUBLIC: "noop", PRIVATE: "noop"}
    assert writes == 0


def test_public_ip_on_launch_turned_off_by_hand_is_turned_on_with_one_write(
    ctx: Context, pair: list[Resource]
) -> None:
    subnet_id = subnets_tagged(PUBLIC)[0]["SubnetId"]
    ec2().modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": False})
    holder: dict[str, Any] = {}
    writes, ops = count_calls(ctx, lambda: holder.update(out=reconcile_once(Subnet(), pair, ctx)))
    assert holder["out"][0] == {PUBLIC: "update", PRIVATE: "noop"}
    assert writes == 1 and ops["ec2:ModifySubnetAttribute"] == 1
    assert subnets_tagged(PUBLIC)[0]["MapPublicIpOnLaunch"] is True


def test_public_ip_turned_on_by_hand_in_a_private_subnet_is_turned_off(
    ctx: Context, pair: list[Resource]
) -> None:
    subnet_id = subnets_tagged(PRIVATE)[0]["SubnetId"]
    ec2().modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    assert reconcile_once(Subnet(), pair, ctx)[0] == {PUBLIC: "noop", PRIVATE: "update"}
    assert subnets_tagged(PRIVATE)[0]["MapPublicIpOnLaunch"] is False


def test_overlapping_cidr_is_a_terminal_error(
    ctx: Context, pair: list[Resource], vpc_id: str
) -> None:
    clash = subnet(vpc_id, "public", "us-east-1b", "10.20.0.0/24")
    with pytest.raises(Exception) as err:
        Subnet().create(clash, ctx)
    classified = Subnet().classify(err.value)
    assert isinstance(classified, TerminalError) and classified.code == "InvalidSubnet.Conflict"


def test_delete_removes_the_subnet_and_deleting_again_is_success(
    ctx: Context, pair: list[Resource]
) -> None:
    rec = Subnet()
    found = rec.observe(pair, ctx)[PUBLIC]
    rec.delete(found, ctx)
    rec.delete(found, ctx)
    assert subnets_tagged(PUBLIC) == []
    assert set(rec.observe(pair, ctx)) == {PRIVATE}


def test_delete_while_a_nat_gateway_still_holds_the_subnet_is_transient(
    ctx: Context, pair: list[Resource]
) -> None:
    # moto deletes a subnet that still has interfaces; AWS refuses, as stubbed here.
    found = Subnet().observe(pair, ctx)[PUBLIC]
    refused = ("delete_subnet", "DependencyViolation", "The subnet has dependencies.")
    assert_ec2_delete_transient(Subnet(), found, ctx, refused)


def test_lost_state_finds_subnets_by_their_tags_and_makes_no_second(pair: list[Resource]) -> None:
    after_lost_state(Subnet(), pair)
    assert len(subnets_tagged(PUBLIC)) == len(subnets_tagged(PRIVATE)) == 1


def test_observe_reads_every_subnet_of_two_stacks_with_one_describe(ctx: Context) -> None:
    client = ec2()
    wanted = []
    for n, stack in enumerate(["acme-prod", "acme-staging"]):
        vpc_id = client.create_vpc(CidrBlock=f"10.{n}.0.0/16")["Vpc"]["VpcId"]
        for i, az in enumerate(["us-east-1a", "us-east-1b"]):
            for tier, third in (("public", i), ("private", 10 + i)):
                wanted.append(subnet(vpc_id, tier, az, f"10.{n}.{third}.0/24", stack))
    for res in wanted:
        Subnet().create(res, ctx)
    _, ops = observe_counted(Subnet(), wanted, ctx)
    assert ops == {"ec2:DescribeSubnets": 1}
