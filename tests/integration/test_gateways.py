"""The InternetGateway, ElasticIp and NatGateway reconcilers against moto.

moto ignores NAT gateway ClientTokens and tag filters (docs/moto.md, NAT gateways): the tests
show that a retried NAT create after a lost state still makes no second gateway, and that
another stack's gateway in the same VPC is never taken for ours. States moto cannot
produce (pending, failed) and errors it does not raise are stubbed with botocore's Stubber.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from controller.aws.context import Context
from controller.aws.retry_guard import client_token, create_attempt
from controller.kinds.diff import diff
from controller.kinds.tags import to_dict
from controller.model import Resource
from reconcilers.elastic_ip import ElasticIp
from reconcilers.internet_gateway import InternetGateway
from reconcilers.nat_gateway import NatGateway
from tests.conftest import REGION, reconcile_once
from tests.integration.ec2_calls import ec2
from tests.integration.kind_passes import (
    actions_and_writes,
    after_lost_state,
    assert_ec2_delete_transient,
    create_one,
    observe_counted,
)

IGW = "acme-prod/network/igw"
EIP = "acme-prod/network/nat-eip-us-east-1a"
NAT = "acme-prod/network/nat-us-east-1a"
TAGS = {"CostCenter": "4711"}


def res(kind: str, logical_id: str, spec: dict[str, Any]) -> Resource:
    return Resource(kind, logical_id, spec, REGION, tags=TAGS)


def ownership(logical_id: str) -> dict[str, str]:
    return {**TAGS, "plumb:stack": logical_id.split("/")[0], "plumb:id": logical_id}


def tagged(op: str, key: str, logical_id: str) -> list[dict[str, Any]]:
    items = getattr(ec2(), op)()[key]
    return [i for i in items if to_dict(i.get("Tags")).get("plumb:id") == logical_id]


@pytest.fixture
def vpc_id(aws: None) -> str:
    return str(ec2().create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"])


@pytest.fixture
def subnet_id(vpc_id: str) -> str:
    out = ec2().create_subnet(VpcId=vpc_id, CidrBlock="10.20.0.0/24", AvailabilityZone="us-east-1a")
    return str(out["Subnet"]["SubnetId"])


# -- internet gateway -----------------------------------------------------------------


def igw(vpc_id: str, stack: str = "acme-prod", name: str = "network/igw") -> Resource:
    return res("InternetGateway", f"{stack}/{name}", {"vpcId": vpc_id})


def attachments(logical_id: str = IGW) -> list[str]:
    [gateway] = tagged("describe_internet_gateways", "InternetGateways", logical_id)
    return [a["VpcId"] for a in gateway["Attachments"]]


@pytest.fixture
def igw_id(ctx: Context, vpc_id: str) -> str:
    actions, observed = reconcile_once(InternetGateway(), [igw(vpc_id)], ctx)
    assert actions == {IGW: "create"}
    return observed[IGW].physical_id


def test_igw_create_attaches_it_to_the_vpc_with_its_tags(igw_id: str, vpc_id: str) -> None:
    [gateway] = tagged("describe_internet_gateways", "InternetGateways", IGW)
    assert gateway["InternetGatewayId"] == igw_id
    assert attachments() == [vpc_id]
    assert to_dict(gateway["Tags"]) == ownership(IGW)


def test_igw_second_pass_is_a_noop_with_zero_writes(ctx: Context, igw_id: str, vpc_id: str) -> None:
    assert actions_and_writes(InternetGateway(), [igw(vpc_id)], ctx) == ({IGW: "noop"}, 0)


@pytest.mark.parametrize(
    ("elsewhere", "writes"),
    [
        pytest.param(False, 1, id="detached: attached again with one write"),
        pytest.param(True, 2, id="attached to another VPC: moved back with two writes"),
    ],
)
def test_igw_taken_off_its_vpc_by_hand_is_put_back(
    ctx: Context, igw_id: str, vpc_id: str, elsewhere: bool, writes: int
) -> None:
    client = ec2()
    client.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    if elsewhere:
        other = client.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
        client.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=other)
    assert actions_and_writes(InternetGateway(), [igw(vpc_id)], ctx) == ({IGW: "update"}, writes)
    assert attachments() == [vpc_id]


def test_igw_delete_detaches_and_deletes_and_deleting_again_is_success(
    ctx: Context, igw_id: str, vpc_id: str
) -> None:
    rec = InternetGateway()
    found = rec.observe([igw(vpc_id)], ctx)[IGW]
    rec.delete(found, ctx)
    rec.delete(found, ctx)
    assert tagged("describe_internet_gateways", "InternetGateways", IGW) == []
    ec2().delete_vpc(VpcId=vpc_id)  # nothing attached is left behind


def test_igw_delete_while_addresses_are_mapped_is_transient(
    ctx: Context, igw_id: str, vpc_id: str
) -> None:
    found = InternetGateway().observe([igw(vpc_id)], ctx)[IGW]
    # AWS refuses while a NAT gateway holds its address.
    mapped = "Network vpc-x has some mapped public address(es)."
    refused = ("detach_internet_gateway", "DependencyViolation", mapped)
    assert_ec2_delete_transient(InternetGateway(), found, ctx, refused)


def test_igw_lost_state_finds_it_by_tags_and_makes_no_second(igw_id: str, vpc_id: str) -> None:
    after_lost_state(InternetGateway(), [igw(vpc_id)])
    assert len(tagged("describe_internet_gateways", "InternetGateways", IGW)) == 1


def test_igw_observe_of_two_stacks_is_one_read(ctx: Context) -> None:
    client = ec2()
    wanted = []
    for n, stack in enumerate(["acme-prod", "acme-staging"] * 2):
        vpc = client.create_vpc(CidrBlock=f"10.{n}.0.0/16")["Vpc"]["VpcId"]
        wanted.append(igw(vpc, stack, f"network/igw-{n}"))
    for item in wanted:
        InternetGateway().create(item, ctx)
    _, ops = observe_counted(InternetGateway(), wanted, ctx)
    assert ops == {"ec2:DescribeInternetGateways": 1}


# -- elastic ip -----------------------------------------------------------------------


def eip(stack: str = "acme-prod", name: str = "network/nat-eip-us-east-1a") -> Resource:
    return res("ElasticIp", f"{stack}/{name}", {"domain": "vpc"})


@pytest.fixture
def allocation_id(ctx: Context) -> str:
    actions, observed = reconcile_once(ElasticIp(), [eip()], ctx)
    assert actions == {EIP: "create"}
    return observed[EIP].physical_id


def test_eip_create_allocates_a_vpc_address_with_its_tags(ctx: Context, allocation_id: str) -> None:
    [address] = tagged("describe_addresses", "Addresses", EIP)
    assert address["AllocationId"] == allocation_id and address["Domain"] == "vpc"
    assert to_dict(address["Tags"]) == ownership(EIP)
    found = ElasticIp().observe([eip()], ctx)[EIP]
    assert found.attrs["allocationId"] == allocation_id
    assert found.attrs["publicIp"] == address["PublicIp"]


def test_eip_second_pass_is_a_noop_with_zero_writes(ctx: Context, allocation_id: str) -> None:
    assert actions_and_writes(ElasticIp(), [eip()], ctx) == ({EIP: "noop"}, 0)


def test_eip_tag_removed_by_hand_is_put_back(ctx: Context, allocation_id: str) -> None:
    ec2().delete_tags(Resources=[allocation_id], Tags=[{"Key": "CostCenter"}])
    assert actions_and_writes(ElasticIp(), [eip()], ctx) == ({EIP: "update"}, 1)
    assert to_dict(tagged("describe_addresses", "Addresses", EIP)[0]["Tags"]) == ownership(EIP)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("InvalidIPAddress.InUse", id="still associated with the NAT gateway"),
        pytest.param("AuthFailure", id="held by a NAT gateway that is still deleting"),
    ],
)
def test_eip_release_while_a_nat_gateway_holds_it_is_transient(
    ctx: Context, allocation_id: str, code: str
) -> None:
    # moto releases an address a NAT gateway holds; AWS refuses until the NAT is deleted.
    found = ElasticIp().observe([eip()], ctx)[EIP]
    refused = ("release_address", code, "address in use")
    assert_ec2_delete_transient(ElasticIp(), found, ctx, refused)


def test_eip_observe_of_two_stacks_is_one_read(ctx: Context) -> None:
    wanted = [
        eip(stack, f"network/nat-eip-{i}")
        for stack in ("acme-prod", "acme-staging")
        for i in range(3)
    ]
    for item in wanted:
        ElasticIp().create(item, ctx)
    _, ops = observe_counted(ElasticIp(), wanted, ctx)
    assert ops == {"ec2:DescribeAddresses": 1}


# -- nat gateway ----------------------------------------------------------------------


def nat(
    subnet_id: str,
    allocation_id: str,
    stack: str = "acme-prod",
    name: str = "network/nat-us-east-1a",
) -> Resource:
    return res(
        "NatGateway", f"{stack}/{name}", {"subnetId": subnet_id, "allocationId": allocation_id}
    )


def live_nats(vpc_id: str) -> list[dict[str, Any]]:
    flt = [
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": "state", "Values": ["pending", "available"]},
    ]
    return ec2().describe_nat_gateways(Filters=flt)["NatGateways"]


def address() -> str:
    return str(ec2().allocate_address(Domain="vpc")["AllocationId"])


@pytest.fixture
def nat_res(ctx: Context, subnet_id: str) -> Resource:
    return create_one(NatGateway(), nat(subnet_id, address()), ctx)


def test_nat_create_places_it_in_the_subnet_with_the_address_and_tags(
    ctx: Context, nat_res: Resource, vpc_id: str
) -> None:
    [gateway] = live_nats(vpc_id)
    assert gateway["SubnetId"] == nat_res.spec["subnetId"]
    assert gateway["NatGatewayAddresses"][0]["AllocationId"] == nat_res.spec["allocationId"]
    assert to_dict(gateway["Tags"]) == ownership(NAT)
    assert not diff(nat_res, NatGateway().observe([nat_res], ctx)[NAT])


def test_nat_create_sends_the_create_attempts_client_token(ctx: Context, subnet_id: str) -> None:
    sent: list[str] = []
    ctx.ec2.meta.events.register(
        "provide-client-params.ec2.CreateNatGateway",
        lambda params, **_: sent.append(params["ClientToken"]),
    )
    wanted = nat(subnet_id, address())
    with create_attempt():
        NatGateway().create(wanted, ctx)
        assert sent == [client_token()]
    with create_attempt():
        assert client_token() != sent[0], "a later attempt never reuses an earlier token"


def test_nat_create_resent_in_one_attempt_returns_the_first_gateway(
    ctx: Context, subnet_id: str, vpc_id: str
) -> None:
    # AWS answers a resent ClientToken with the gateway it made; moto is patched to as well
    # (plumb_embedded/moto_compat/ec2_tokens.py).
    wanted = nat(subnet_id, address())
    with create_attempt():
        first = NatGateway().create(wanted, ctx)
        again = NatGateway().create(wanted, ctx)
    assert again.physical_id == first.physical_id
    assert len(live_nats(vpc_id)) == 1


def test_nat_second_pass_is_a_noop_with_zero_writes(ctx: Context, nat_res: Resource) -> None:
    assert actions_and_writes(NatGateway(), [nat_res], ctx) == ({NAT: "noop"}, 0)


def test_nat_retry_after_a_crash_finds_the_first_and_makes_no_second(
    nat_res: Resource, vpc_id: str
) -> None:
    observed = after_lost_state(NatGateway(), [nat_res], {"acme-prod", "acme-staging"})
    assert [g["NatGatewayId"] for g in live_nats(vpc_id)] == [observed[NAT].physical_id]


def test_nat_of_another_stack_in_the_same_vpc_is_ignored(
    ctx: Context, subnet_id: str, vpc_id: str
) -> None:
    decoy_tags = [
        {"Key": "plumb:stack", "Value": "other-prod"},
        {"Key": "plumb:id", "Value": NAT.replace("acme-prod", "other-prod")},
    ]
    ec2().create_nat_gateway(
        SubnetId=subnet_id,
        AllocationId=address(),
        TagSpecifications=[{"ResourceType": "natgateway", "Tags": decoy_tags}],
    )
    ec2().create_nat_gateway(SubnetId=subnet_id, AllocationId=address())  # untagged
    wanted = nat(subnet_id, address())
    assert reconcile_once(NatGateway(), [wanted], ctx)[0] == {NAT: "create"}
    found = NatGateway().observe([wanted], ctx)
    assert set(found) == {NAT}
    assert (
        to_dict(
            ec2().describe_nat_gateways(NatGatewayIds=[found[NAT].physical_id])["NatGateways"][0][
                "Tags"
            ]
        )["plumb:id"]
        == NAT
    )
    assert len(live_nats(vpc_id)) == 3


def test_nat_delete_makes_it_absent_and_then_its_address_can_be_released(
    ctx: Context, nat_res: Resource, vpc_id: str
) -> None:
    found = NatGateway().observe([nat_res], ctx)[NAT]
    NatGateway().delete(found, ctx)
    NatGateway().delete(found, ctx)  # a deleted gateway can be deleted again
    assert live_nats(vpc_id) == []
    assert NatGateway().observe([nat_res], ctx) == {}
    ec2().release_address(AllocationId=nat_res.spec["allocationId"])


def _stubbed_nat(state: str, subnet_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "NatGatewayId": "nat-0123456789abcdef0",
        "State": state,
        "SubnetId": subnet_id,
        "VpcId": "vpc-0123456789abcdef0",
        "NatGatewayAddresses": [{"AllocationId": "eipalloc-1", "PublicIp": "203.0.113.7"}],
        "Tags": [{"Key": k, "Value": v} for k, v in ownership(NAT).items()],
        **extra,
    }


def test_nat_pending_is_observed_but_not_ready(ctx: Context, subnet_id: str) -> None:
    with Stubber(ctx.ec2) as stub:
        stub.add_response(
            "describe_nat_gateways", {"NatGateways": [_stubbed_nat("pending", subnet_id)]}
        )
        found = NatGateway().observe([nat(subnet_id, "eipalloc-1")], ctx)
    assert found[NAT].ready is False
    assert found[NAT].attrs["publicIp"] == "203.0.113.7"


def test_nat_failed_is_absent_and_explained_in_a_warning(ctx: Context, subnet_id: str) -> None:
    wanted = nat(subnet_id, "eipalloc-1")
    failed = _stubbed_nat(
        "failed",
        subnet_id,
        FailureCode="InsufficientFreeAddressesInSubnet",
        FailureMessage="Subnet has insufficient free addresses",
    )
    with Stubber(ctx.ec2) as stub:
        stub.add_response("describe_nat_gateways", {"NatGateways": [failed]})
        assert NatGateway().observe([wanted], ctx) == {}
    [warning] = NatGateway().warnings(wanted, None)
    assert "nat-0123456789abcdef0 failed" in warning
    assert "InsufficientFreeAddressesInSubnet" in warning


def test_nat_observe_asks_only_for_live_and_failed_gateways(ctx: Context, subnet_id: str) -> None:
    with Stubber(ctx.ec2) as stub:
        stub.add_response(
            "describe_nat_gateways",
            {"NatGateways": []},
            {
                "Filters": [
                    {"Name": "tag:plumb:stack", "Values": ["acme-prod", "acme-staging"]},
                    {"Name": "state", "Values": ["pending", "available", "failed"]},
                ]
            },
        )
        assert NatGateway().observe([], ctx) == {}
        stub.assert_no_pending_responses()


def test_nat_observe_of_two_stacks_is_one_read(ctx: Context, vpc_id: str) -> None:
    client = ec2()
    wanted = []
    for i, stack in enumerate(["acme-prod", "acme-staging"] * 2):
        sub = client.create_subnet(VpcId=vpc_id, CidrBlock=f"10.20.{i}.0/24")["Subnet"]
        wanted.append(nat(sub["SubnetId"], address(), stack, f"network/nat-{i}"))
    for item in wanted:
        NatGateway().create(item, ctx)
    _, ops = observe_counted(NatGateway(), wanted, ctx)
    assert ops == {"ec2:DescribeNatGateways": 1}
