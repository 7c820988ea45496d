"""The SecurityGroup reconciler against moto: rules in both directions as sets, AWS's default
allow-all egress revoked, rules added by hand revoked (group pairs too: docs/moto.md,
Security group rules), name conflicts, delete, lost state, and one read for every group of
two stacks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.aws.context import Context
from controller.engine.graph import Graph, resolve, without_unknown_members
from controller.kinds.diff import contains_unknown, diff
from controller.kinds.document import Document
from controller.kinds.registry import reconciler_for
from controller.kinds.tags import to_dict
from controller.model import Observed, Resource
from reconcilers.environment import network
from reconcilers.environment.view import StackView
from reconcilers.security_group import SecurityGroup
from tests.conftest import REGION, count_calls, reconcile_once
from tests.integration.ec2_calls import ec2, of_stack
from tests.integration.kind_passes import (
    actions_and_writes,
    after_lost_state,
    assert_ec2_delete_transient,
    observe_counted,
)

ALB = "acme-prod/network/sg-alb"
APP = "acme-prod/network/sg-app"
ANYWHERE = "0.0.0.0/0"
WORLD = [{"CidrIp": ANYWHERE}]
SPECS = Path(__file__).resolve().parents[2] / "specs"


def reconcile(wanted: list[Resource], ctx: Context) -> tuple[dict[str, str], int]:
    return actions_and_writes(SecurityGroup(), wanted, ctx)


def tcp(port: int, description: str, **peer: str) -> dict[str, Any]:
    return {"protocol": "tcp", "fromPort": port, "toPort": port, **peer, "description": description}


def group(logical_id: str, vpc_id: str, ingress: list[Any], egress: list[Any]) -> Resource:
    stack, name = logical_id.split("/", 1)
    role = name.rsplit("-", 1)[1]
    return Resource(
        "SecurityGroup",
        logical_id,
        {
            "groupName": f"{stack}-{role}",
            "description": f"{stack} {role}",
            "vpcId": vpc_id,
            "ingress": ingress,
            "egress": egress,
        },
        REGION,
        tags={"CostCenter": "4711"},
    )


def alb(vpc_id: str, stack: str = "acme-prod") -> Resource:
    return group(
        f"{stack}/network/sg-alb",
        vpc_id,
        [
            tcp(443, "HTTPS from anywhere", cidr=ANYWHERE),
            tcp(80, "HTTP from anywhere", cidr=ANYWHERE),
        ],
        [tcp(3000, "to the service", cidr="10.20.10.0/24")],
    )


def app(vpc_id: str, alb_id: str, stack: str = "acme-prod") -> Resource:
    return group(
        f"{stack}/network/sg-app",
        vpc_id,
        [tcp(3000, "from the load balancer", sourceGroupId=alb_id)],
        [tcp(443, "HTTPS out", cidr=ANYWHERE)],
    )


def raw_group(logical_id: str) -> dict[str, Any]:
    flt = [{"Name": "tag:plumb:id", "Values": [logical_id]}]
    [found] = ec2().describe_security_groups(Filters=flt)["SecurityGroups"]
    return dict(found)


def rules(logical_id: str, direction: str) -> list[tuple[Any, ...]]:
    """(protocol, from, to, peer, description) of each rule AWS holds, one per peer."""
    key = "IpPermissions" if direction == "ingress" else "IpPermissionsEgress"
    out = []
    for perm in raw_group(logical_id)[key]:
        ports = (perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"))
        for peer in perm["IpRanges"]:
            out.append((*ports, peer["CidrIp"], peer.get("Description")))
        for peer in perm["UserIdGroupPairs"]:
            out.append((*ports, peer["GroupId"], peer.get("Description")))
    return sorted(out, key=str)


@pytest.fixture
def vpc_id(aws: None) -> str:
    return str(ec2().create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"])


@pytest.fixture
def groups(ctx: Context, vpc_id: str) -> list[Resource]:
    """sg-alb, then sg-app admitting it; returned with the alb's id filled in."""
    first = alb(vpc_id)
    alb_id = SecurityGroup().create(first, ctx).physical_id
    wanted = [first, app(vpc_id, alb_id)]
    assert reconcile_once(SecurityGroup(), wanted, ctx)[0] == {ALB: "noop", APP: "create"}
    return wanted


@pytest.fixture
def found(ctx: Context, groups: list[Resource]) -> dict[str, Observed]:
    """The two groups as observed once made."""
    return SecurityGroup().observe(groups, ctx)


def alb_id(groups: list[Resource]) -> str:
    return str(groups[1].spec["ingress"][0]["sourceGroupId"])


def pair_rule(port: int, group_id: str, description: str) -> list[dict[str, Any]]:
    """The IpPermissions of one TCP rule on `port` naming the group `group_id`, as a hand
    would write it with the EC2 API."""
    pair = {"GroupId": group_id, "Description": description}
    return [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [pair]}]


def test_create_sets_name_description_vpc_and_tags(groups: list[Resource], vpc_id: str) -> None:
    raw = raw_group(ALB)
    assert (raw["GroupName"], raw["Description"], raw["VpcId"]) == (
        "acme-prod-alb",
        "acme-prod alb",
        vpc_id,
    )
    assert to_dict(raw["Tags"]) == {
        "CostCenter": "4711",
        "plumb:stack": "acme-prod",
        "plumb:id": ALB,
    }


def test_create_authorizes_exactly_the_rules_and_revokes_the_default_egress(
    groups: list[Resource],
) -> None:
    assert rules(ALB, "ingress") == [
        ("tcp", 443, 443, ANYWHERE, "HTTPS from anywhere"),
        ("tcp", 80, 80, ANYWHERE, "HTTP from anywhere"),
    ]
    assert rules(ALB, "egress") == [("tcp", 3000, 3000, "10.20.10.0/24", "to the service")]
    assert rules(APP, "ingress") == [("tcp", 3000, 3000, alb_id(groups), "from the load balancer")]
    assert rules(APP, "egress") == [("tcp", 443, 443, ANYWHERE, "HTTPS out")]


def test_a_group_with_no_egress_rules_has_no_egress_at_all(ctx: Context, vpc_id: str) -> None:
    db = group(
        "acme-prod/network/sg-docdb",
        vpc_id,
        [tcp(27017, "from the service", cidr="10.20.10.0/24")],
        [],
    )
    SecurityGroup().create(db, ctx)
    assert rules("acme-prod/network/sg-docdb", "egress") == []


def test_created_observation_diffs_empty_and_carries_id_arn_and_name(
    ctx: Context, vpc_id: str
) -> None:
    found = SecurityGroup().create(alb(vpc_id), ctx)
    assert not diff(alb(vpc_id), found)
    assert found.attrs["id"] == raw_group(ALB)["GroupId"]
    assert found.attrs["name"] == "acme-prod-alb"
    assert found.attrs["arn"].endswith(f":security-group/{found.physical_id}")


def test_second_pass_is_a_noop_with_zero_writes(ctx: Context, groups: list[Resource]) -> None:
    assert reconcile(groups, ctx) == ({ALB: "noop", APP: "noop"}, 0)


def spec_rules(res: Resource, direction: str) -> list[tuple[Any, ...]]:
    """The rules of `res`'s spec in one direction, as `rules` reads them from AWS."""
    out = []
    for r in res.spec[direction]:
        peer = r.get("cidr") or r["sourceGroupId"]
        out.append((r["protocol"], r["fromPort"], r["toPort"], peer, r["description"]))
    return sorted(out, key=str)


# Rules changed by hand, each on one group and direction through one EC2 call, given the
# ALB group's id. moto matches a group-pair revoke only with its description (docs/moto.md,
# Security group rules), so the pairs added by hand carry one.
HAND_CHANGES = [
    pytest.param(
        APP,
        "authorize_security_group_ingress",
        lambda _: [{"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "IpRanges": WORLD}],
        id="redis port opened to the world",
    ),
    pytest.param(
        ALB,
        "authorize_security_group_egress",
        lambda _: [{"IpProtocol": "-1", "IpRanges": WORLD}],
        id="allow-all egress added back",
    ),
    pytest.param(
        APP,
        "authorize_security_group_egress",
        lambda alb: pair_rule(22, alb, "ssh, by hand"),
        id="group pair rule added with a description",
    ),
    pytest.param(
        APP,
        "revoke_security_group_ingress",
        lambda alb: pair_rule(3000, alb, "from the load balancer"),
        id="group pair rule revoked",
    ),
]


@pytest.mark.parametrize(("changed", "call", "permissions"), HAND_CHANGES)
def test_a_rule_changed_by_hand_is_repaired_with_one_write(
    ctx: Context,
    groups: list[Resource],
    changed: str,
    call: str,
    permissions: Callable[[str], list[dict[str, Any]]],
) -> None:
    group_id = raw_group(changed)["GroupId"]
    getattr(ec2(), call)(GroupId=group_id, IpPermissions=permissions(alb_id(groups)))
    actions = {ALB: "noop", APP: "noop", changed: "update"}
    assert reconcile(groups, ctx) == (actions, 1)
    [res] = [r for r in groups if r.logical_id == changed]
    direction = call.rsplit("_", 1)[1]
    assert rules(changed, direction) == spec_rules(res, direction)


def test_a_new_rule_description_replaces_the_group_pair_rule(
    ctx: Context, groups: list[Resource]
) -> None:
    spec = dict(groups[1].spec)
    spec["ingress"] = [{**spec["ingress"][0], "description": "from the ALB only"}]
    wanted = [groups[0], groups[1].with_spec(spec)]
    assert reconcile(wanted, ctx) == ({ALB: "noop", APP: "update"}, 2)  # revoke + authorize
    assert rules(APP, "ingress") == [("tcp", 3000, 3000, alb_id(groups), "from the ALB only")]


def test_the_same_name_in_another_vpc_is_no_conflict(ctx: Context, vpc_id: str) -> None:
    other = ec2().create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    ec2().create_security_group(GroupName="acme-prod-alb", Description="x", VpcId=other)
    assert SecurityGroup().observe([alb(vpc_id)], ctx) == {}


def test_delete_revokes_rules_naming_other_groups_then_deletes(
    ctx: Context, found: dict[str, Observed]
) -> None:
    rec = SecurityGroup()
    rec.delete(found[APP], ctx)
    rec.delete(found[APP], ctx)  # already gone
    rec.delete(found[ALB], ctx)
    assert of_stack("describe_security_groups", "SecurityGroups") == []


def test_delete_goes_through_when_a_group_its_rules_name_is_already_gone(
    ctx: Context, found: dict[str, Observed]
) -> None:
    """A replace deletes groups in parallel; a revoke naming a vanished group must not stop
    the delete itself (it once did, leaving a second group of the same name behind)."""
    ec2().delete_security_group(GroupId=found[ALB].physical_id)  # moto allows it; AWS would not
    SecurityGroup().delete(found[APP], ctx)
    flt = [{"Name": "group-id", "Values": [found[APP].physical_id]}]
    assert ec2().describe_security_groups(Filters=flt)["SecurityGroups"] == []


def test_release_drops_only_the_rules_that_name_other_groups(
    ctx: Context, found: dict[str, Observed]
) -> None:
    SecurityGroup().release(found[APP], ctx)
    assert rules(APP, "ingress") == []
    assert [r[3] for r in rules(APP, "egress")] == [ANYWHERE]


def test_delete_of_a_group_another_group_still_names_is_transient(
    ctx: Context, found: dict[str, Observed]
) -> None:
    # moto deletes a group other groups refer to; AWS refuses, as stubbed here.
    refused = ("delete_security_group", "DependencyViolation", "sg-x has a dependent object")
    assert_ec2_delete_transient(SecurityGroup(), found[ALB], ctx, refused)


def test_lost_state_finds_groups_by_their_tags_and_makes_no_second(groups: list[Resource]) -> None:
    after_lost_state(SecurityGroup(), groups)
    assert len(of_stack("describe_security_groups", "SecurityGroups")) == 2


def test_observe_reads_every_group_of_two_stacks_with_one_describe(ctx: Context) -> None:
    wanted = []
    for n, stack in enumerate(["acme-prod", "acme-staging"]):
        vpc = ec2().create_vpc(CidrBlock=f"10.{n}.0.0/16")["Vpc"]["VpcId"]
        first = alb(vpc, stack)
        first_id = SecurityGroup().create(first, ctx).physical_id
        rest = [app(vpc, first_id, stack)] + [
            group(
                f"{stack}/network/sg-{role}",
                vpc,
                [tcp(port, "from the service", cidr="10.20.10.0/24")],
                [],
            )
            for role, port in (("docdb", 27017), ("redis", 6379))
        ]
        for res in rest:
            SecurityGroup().create(res, ctx)
        wanted += [first, *rest]
    found, ops = observe_counted(SecurityGroup(), wanted, ctx)
    assert ops == {"ec2:DescribeSecurityGroups": 1}
    assert all(not diff(r, found[r.logical_id]) for r in wanted)


# -- the expanded network, live -------------------------------------------------------


def expanded_network() -> list[Resource]:
    body = yaml.safe_load((SPECS / "acme-prod.yaml").read_text())
    return network.expand(StackView(Document(file="specs/acme-prod.yaml", body=body)))


def test_the_expanded_network_is_built_in_one_pass_and_then_diffs_empty(ctx: Context) -> None:
    graph = Graph(expanded_network())
    live: dict[str, Observed] = {}

    def attrs(target: str) -> Any:
        return live[target].attrs if target in live else None

    def resolved(lid: str) -> Resource:
        return resolve(graph.nodes[lid], attrs, lambda: "123456789012")

    deferred = []
    for wave in graph.waves():
        for lid in wave:
            res = resolved(lid)
            if contains_unknown(dict(res.spec)):  # late egress references: a second pass
                deferred.append(lid)
                res = res.with_spec(without_unknown_members(dict(res.spec)))
            live[lid] = reconciler_for(res.kind).create(res, ctx)
    for lid in deferred:
        res = resolved(lid)
        live[lid] = reconciler_for(res.kind).update(res, live[lid], diff(res, live[lid]), ctx)
    by_kind: dict[str, list[Resource]] = {}
    for lid in graph.order():
        by_kind.setdefault(graph.nodes[lid].kind, []).append(resolved(lid))
    found: dict[str, Observed] = {}
    writes, ops = count_calls(
        ctx,
        lambda: [
            found.update(reconciler_for(kind).observe(wanted, ctx))
            for kind, wanted in by_kind.items()
        ],
    )
    assert writes == 0
    assert {lid: diff(resolved(lid), found[lid]).paths for lid in graph.order()} == {
        lid: [] for lid in graph.order()
    }
    # One describe per kind; the VPC's two DNS attributes cannot be batched.
    assert ops == {
        "ec2:DescribeVpcs": 1,
        "ec2:DescribeVpcAttribute": 2,
        "ec2:DescribeSubnets": 1,
        "ec2:DescribeInternetGateways": 1,
        "ec2:DescribeAddresses": 1,
        "ec2:DescribeNatGateways": 1,
        "ec2:DescribeRouteTables": 1,
        "ec2:DescribeSecurityGroups": 1,
    }
