"""The Vpc reconciler against moto: create, read back, no-op, drift repair, delete, lost state,
and what observing costs."""

from __future__ import annotations

from typing import Any

import pytest

from controller.aws.context import Context
from controller.errors import TransientError
from controller.kinds.diff import diff
from controller.kinds.tags import to_dict
from controller.model import Resource
from reconcilers.vpc import Vpc
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.ec2_calls import ec2
from tests.integration.kind_passes import after_lost_state, observe_counted

LID = "acme-prod/network/vpc"
TAGS = {"CostCenter": "4711"}


def vpc(
    stack: str = "acme-prod", name: str = "network/vpc", cidr: str = "10.20.0.0/16", **spec: Any
) -> Resource:
    full = {"cidr": cidr, "enableDnsSupport": True, "enableDnsHostnames": True, **spec}
    return Resource("Vpc", f"{stack}/{name}", full, REGION, tags=TAGS)


def vpcs_tagged(logical_id: str) -> list[dict[str, Any]]:
    return ec2().describe_vpcs(Filters=[{"Name": "tag:plumb:id", "Values": [logical_id]}])["Vpcs"]


def dns(vpc_id: str) -> tuple[bool, bool]:
    client = ec2()
    support = client.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
    hostnames = client.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")
    return support["EnableDnsSupport"]["Value"], hostnames["EnableDnsHostnames"]["Value"]


@pytest.fixture
def created(ctx: Context) -> str:
    actions, observed = reconcile_once(Vpc(), [vpc()], ctx)
    assert actions == {LID: "create"}
    return observed[LID].physical_id


def test_create_sets_cidr_dns_and_ownership_tags(created: str) -> None:
    [raw] = vpcs_tagged(LID)
    assert raw["VpcId"] == created
    assert raw["CidrBlock"] == "10.20.0.0/16"
    assert dns(created) == (True, True)
    assert to_dict(raw["Tags"]) == {**TAGS, "plumb:stack": "acme-prod", "plumb:id": LID}


def test_created_observation_diffs_empty_and_carries_the_id(ctx: Context) -> None:
    found = Vpc().create(vpc(), ctx)
    assert not diff(vpc(), found)
    assert found.attrs["id"] == found.physical_id == vpcs_tagged(LID)[0]["VpcId"]


def test_second_pass_is_a_noop_with_zero_writes(ctx: Context, created: str) -> None:
    writes, _ = count_calls(ctx, lambda: reconcile_once(Vpc(), [vpc()], ctx))
    assert writes == 0
    assert reconcile_once(Vpc(), [vpc()], ctx)[0] == {LID: "noop"}


def test_dns_hostnames_turned_off_by_hand_is_turned_on_with_one_write(
    ctx: Context, created: str
) -> None:
    ec2().modify_vpc_attribute(VpcId=created, EnableDnsHostnames={"Value": False})
    holder: dict[str, Any] = {}
    writes, ops = count_calls(ctx, lambda: holder.update(out=reconcile_once(Vpc(), [vpc()], ctx)))
    assert holder["out"][0] == {LID: "update"}
    assert writes == 1 and ops["ec2:ModifyVpcAttribute"] == 1
    assert dns(created) == (True, True)


def test_dns_support_and_hostnames_off_by_hand_are_both_turned_back_on(
    ctx: Context, created: str
) -> None:
    client = ec2()
    client.modify_vpc_attribute(VpcId=created, EnableDnsHostnames={"Value": False})
    client.modify_vpc_attribute(VpcId=created, EnableDnsSupport={"Value": False})
    assert reconcile_once(Vpc(), [vpc()], ctx)[0] == {LID: "update"}
    assert dns(created) == (True, True)


def test_tags_changed_and_added_by_hand_are_set_back(ctx: Context, created: str) -> None:
    ec2().create_tags(
        Resources=[created],
        Tags=[{"Key": "CostCenter", "Value": "0"}, {"Key": "added", "Value": "by hand"}],
    )
    assert reconcile_once(Vpc(), [vpc()], ctx)[0] == {LID: "update"}
    assert to_dict(vpcs_tagged(LID)[0]["Tags"]) == {
        **TAGS,
        "plumb:stack": "acme-prod",
        "plumb:id": LID,
    }


def test_delete_while_a_subnet_remains_is_transient(ctx: Context, created: str) -> None:
    ec2().create_subnet(VpcId=created, CidrBlock="10.20.0.0/24")
    found = Vpc().observe([vpc()], ctx)[LID]
    with pytest.raises(TransientError) as err:
        Vpc().delete(found, ctx)
    assert err.value.code == "DependencyViolation"


def test_lost_state_finds_the_vpc_by_its_tags_and_makes_no_second(created: str) -> None:
    observed = after_lost_state(Vpc(), [vpc()])
    assert observed[LID].physical_id == created
    assert len(vpcs_tagged(LID)) == 1


def test_vpcs_of_other_stacks_and_untagged_vpcs_are_not_observed(ctx: Context) -> None:
    client = ec2()
    client.create_vpc(CidrBlock="10.1.0.0/16")
    client.create_vpc(
        CidrBlock="10.2.0.0/16",
        TagSpecifications=[
            {
                "ResourceType": "vpc",
                "Tags": [
                    {"Key": "plumb:stack", "Value": "other-prod"},
                    {"Key": "plumb:id", "Value": "other-prod/network/vpc"},
                ],
            }
        ],
    )
    assert Vpc().observe([vpc()], ctx) == {}


def made_in_two_stacks(ctx: Context, per_stack: int) -> list[Resource]:
    """`per_stack` VPCs in each of acme-prod and acme-staging, created."""
    made = [
        vpc(stack, f"network/vpc-{i}", cidr=f"10.{10 * n + i}.0.0/16")
        for n, stack in enumerate(["acme-prod", "acme-staging"])
        for i in range(per_stack)
    ]
    for res in made:
        Vpc().create(res, ctx)
    return made


def test_observe_reads_every_vpc_of_two_stacks_with_one_describe(ctx: Context) -> None:
    wanted = made_in_two_stacks(ctx, 3)
    _, ops = observe_counted(Vpc(), wanted, ctx)
    # DNS attributes are not in DescribeVpcs: one attribute read per field per desired VPC.
    assert ops == {"ec2:DescribeVpcs": 1, "ec2:DescribeVpcAttribute": 2 * len(wanted)}


def test_observe_of_vpcs_no_longer_desired_is_one_read_and_finds_them_all(ctx: Context) -> None:
    _, ops = observe_counted(Vpc(), made_in_two_stacks(ctx, 2), ctx, desired=[])
    assert ops == {"ec2:DescribeVpcs": 1}


def test_two_vpcs_with_one_logical_id_are_reported_and_only_one_is_managed(
    ctx: Context, created: str
) -> None:
    tags = [{"Key": k, "Value": v} for k, v in vpc().ownership_tags().items()]
    twin = ec2().create_vpc(
        CidrBlock="10.21.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}]
    )
    twin_id = twin["Vpc"]["VpcId"]
    found = Vpc().observe([vpc()], ctx)[LID]
    # Both are handed to the plan, which keeps the one in use and warns (controller/
    # duplicates.py); the observation itself is stable from run to run.
    assert found.physical_id == min(created, twin_id)
    assert [o.physical_id for o in found.alternates] == [max(created, twin_id)]
