"""The network section expands into a VPC, subnets per AZ, gateways, route tables and the
security groups of the traffic paths, with stable ids and references."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from controller.engine.graph import Graph
from controller.kinds.document import Document
from controller.kinds.fields import schema_for
from controller.model import Resource
from reconcilers.environment import expand as expand_environment
from reconcilers.environment import network
from reconcilers.environment.view import StackView, ref
from tests.conftest import placeholders

SPECS = Path(__file__).resolve().parents[2] / "specs"
AZ_A, AZ_B = "us-east-1a", "us-east-1b"

Edit = Callable[[dict[str, Any]], None]


def view(edit: Edit | None = None, name: str = "acme-prod.yaml") -> StackView:
    body = yaml.safe_load((SPECS / name).read_text())
    if edit is not None:
        edit(body["spec"])
    return StackView(Document(file=f"specs/{name}", body=body))


def expand(edit: Edit | None = None) -> dict[str, Resource]:
    return {r.name: r for r in network.expand(view(edit))}


def nat_gateways(count: int) -> Edit:
    def edit(spec: dict[str, Any]) -> None:
        spec["network"]["natGateways"] = count

    return edit


def without(*sections: str) -> Edit:
    def edit(spec: dict[str, Any]) -> None:
        for section in sections:
            del spec[section]

    return edit


# -- ids and references ---------------------------------------------------------------

BASE = {
    "network/vpc",
    "network/igw",
    "network/rt-public",
    f"network/subnet-public-{AZ_A}",
    f"network/subnet-public-{AZ_B}",
    f"network/subnet-private-{AZ_A}",
    f"network/subnet-private-{AZ_B}",
    f"network/rt-private-{AZ_A}",
    f"network/rt-private-{AZ_B}",
    "network/sg-alb",
    "network/sg-app",
    "network/sg-docdb",
    "network/sg-redis",
}


@pytest.mark.parametrize(
    "count, nats",
    [
        pytest.param(0, set(), id="no NAT gateway"),
        pytest.param(
            1,
            {f"network/nat-eip-{AZ_A}", f"network/nat-{AZ_A}"},
            id="one shared NAT in the first AZ",
        ),
        pytest.param(
            2,
            {
                f"network/nat-eip-{AZ_A}",
                f"network/nat-{AZ_A}",
                f"network/nat-eip-{AZ_B}",
                f"network/nat-{AZ_B}",
            },
            id="one NAT per AZ",
        ),
    ],
)
def test_logical_ids_for_each_nat_gateway_count(count: int, nats: set[str]) -> None:
    assert set(expand(nat_gateways(count))) == BASE | nats


@pytest.mark.parametrize(
    "count, targets",
    [
        pytest.param(0, {AZ_A: [], AZ_B: []}, id="no NAT: no default route"),
        pytest.param(
            1,
            {AZ_A: [f"network/nat-{AZ_A}"], AZ_B: [f"network/nat-{AZ_A}"]},
            id="one NAT: both AZs route through it",
        ),
        pytest.param(
            2,
            {AZ_A: [f"network/nat-{AZ_A}"], AZ_B: [f"network/nat-{AZ_B}"]},
            id="NAT per AZ: each AZ routes through its own",
        ),
    ],
)
def test_private_route_tables_route_through_the_nat_of_their_az(
    count: int, targets: dict[str, list[str]]
) -> None:
    found = expand(nat_gateways(count))
    for az, nats in targets.items():
        table = found[f"network/rt-private-{az}"]
        assert table.spec["routes"] == [
            {"destination": "0.0.0.0/0", "natGatewayId": ref(n)} for n in nats
        ]
        assert table.spec["associations"] == [ref(f"network/subnet-private-{az}")]


@pytest.mark.parametrize("count", [1, 2])
def test_each_nat_lives_in_its_az_public_subnet_with_its_own_address(count: int) -> None:
    found = expand(nat_gateways(count))
    for az in [AZ_A, AZ_B][:count]:
        assert found[f"network/nat-{az}"].spec == {
            "subnetId": ref(f"network/subnet-public-{az}"),
            "allocationId": ref(f"network/nat-eip-{az}", "allocationId"),
        }
        assert found[f"network/nat-eip-{az}"].spec == {"domain": "vpc"}


def test_vpc_and_subnets_follow_the_spec_one_subnet_per_az_in_order() -> None:
    found = expand()
    assert found["network/vpc"].spec == {
        "cidr": "10.20.0.0/16",
        "enableDnsSupport": True,
        "enableDnsHostnames": True,
    }
    expected = {
        f"network/subnet-public-{AZ_A}": ("10.20.0.0/24", AZ_A, True),
        f"network/subnet-public-{AZ_B}": ("10.20.1.0/24", AZ_B, True),
        f"network/subnet-private-{AZ_A}": ("10.20.10.0/24", AZ_A, False),
        f"network/subnet-private-{AZ_B}": ("10.20.11.0/24", AZ_B, False),
    }
    for name, (cidr, az, public) in expected.items():
        assert found[name].spec == {
            "vpcId": ref("network/vpc"),
            "cidr": cidr,
            "availabilityZone": az,
            "mapPublicIpOnLaunch": public,
        }


def test_public_route_table_sends_everything_to_the_igw_for_every_public_subnet() -> None:
    found = expand()
    assert found["network/igw"].spec == {"vpcId": ref("network/vpc")}
    assert found["network/rt-public"].spec == {
        "vpcId": ref("network/vpc"),
        "routes": [{"destination": "0.0.0.0/0", "gatewayId": ref("network/igw")}],
        "associations": [
            ref(f"network/subnet-public-{AZ_A}"),
            ref(f"network/subnet-public-{AZ_B}"),
        ],
    }


def test_network_resources_are_deleted_when_they_leave_the_spec_and_carry_stack_tags() -> None:
    for res in expand().values():
        assert res.deletion_policy == "Delete", res.logical_id
        assert res.logical_id.startswith("acme-prod/network/")
        assert res.tags == {"CostCenter": "4711", "Owner": "platform@acme.example"}


def test_no_network_section_builds_nothing_not_even_security_groups() -> None:
    assert expand(without("network")) == {}


# -- security groups ------------------------------------------------------------------


def late(target: str) -> dict[str, Any]:
    """Egress names the downstream group, which names this one back: a late reference."""
    return {**ref(target), "late": True}


def tcp(port: int, description: str, **peer: Any) -> dict[str, Any]:
    return {"protocol": "tcp", "fromPort": port, "toPort": port, **peer, "description": description}


def test_alb_group_admits_https_and_http_from_the_allowed_cidrs_and_reaches_the_service() -> None:
    def two_cidrs(spec: dict[str, Any]) -> None:
        spec["loadBalancer"]["allowedCidrs"] = ["203.0.113.0/24", "198.51.100.0/24"]

    sg = expand(two_cidrs)["network/sg-alb"]
    assert (sg.spec["groupName"], sg.spec["vpcId"]) == ("acme-prod-alb", ref("network/vpc"))
    assert sg.spec["ingress"] == [
        tcp(443, "HTTPS from 203.0.113.0/24", cidr="203.0.113.0/24"),
        tcp(80, "HTTP from 203.0.113.0/24, redirected to HTTPS", cidr="203.0.113.0/24"),
        tcp(443, "HTTPS from 198.51.100.0/24", cidr="198.51.100.0/24"),
        tcp(80, "HTTP from 198.51.100.0/24, redirected to HTTPS", cidr="198.51.100.0/24"),
    ]
    assert sg.spec["egress"] == [tcp(3000, "to the service", sourceGroupId=late("network/sg-app"))]


def test_app_group_admits_only_the_alb_and_reaches_its_stores_and_https() -> None:
    sg = expand()["network/sg-app"]
    assert sg.spec["groupName"] == "acme-prod-app"
    assert sg.spec["ingress"] == [
        tcp(3000, "from the load balancer", sourceGroupId=ref("network/sg-alb"))
    ]
    assert sg.spec["egress"] == [
        tcp(27017, "to DocumentDB", sourceGroupId=late("network/sg-docdb")),
        tcp(6379, "to Redis", sourceGroupId=late("network/sg-redis")),
        tcp(443, "HTTPS to ECR, AWS APIs and Azure OpenAI", cidr="0.0.0.0/0"),
    ]


@pytest.mark.parametrize(
    "name, group_name, port",
    [
        pytest.param("network/sg-docdb", "acme-prod-docdb", 27017, id="documentdb"),
        pytest.param("network/sg-redis", "acme-prod-redis", 6379, id="redis"),
    ],
)
def test_store_groups_admit_only_the_app_and_send_nothing(
    name: str, group_name: str, port: int
) -> None:
    sg = expand()[name]
    assert sg.spec["groupName"] == group_name
    assert sg.spec["ingress"] == [
        tcp(port, "from the service", sourceGroupId=ref("network/sg-app"))
    ]
    assert sg.spec["egress"] == []


def test_the_service_port_from_the_spec_is_the_one_opened() -> None:
    def port_8080(spec: dict[str, Any]) -> None:
        spec["service"]["port"] = 8080

    found = expand(port_8080)
    assert {r["fromPort"] for r in found["network/sg-alb"].spec["egress"]} == {8080}
    assert found["network/sg-app"].spec["ingress"][0]["fromPort"] == 8080


@pytest.mark.parametrize(
    "section, gone",
    [
        pytest.param("loadBalancer", "network/sg-alb", id="no load balancer, no alb group"),
        pytest.param("service", "network/sg-app", id="no service, no app group"),
        pytest.param("documentdb", "network/sg-docdb", id="no documentdb, no docdb group"),
        pytest.param("redis", "network/sg-redis", id="no redis, no redis group"),
    ],
)
def test_no_group_for_an_absent_section(section: str, gone: str) -> None:
    found = expand(without(section))
    assert gone not in found
    assert {n for n in found if n.startswith("network/sg-")} == {
        "network/sg-alb",
        "network/sg-app",
        "network/sg-docdb",
        "network/sg-redis",
    } - {gone}


def test_rules_toward_an_absent_section_are_left_out() -> None:
    found = expand(without("documentdb", "redis", "loadBalancer"))
    assert found["network/sg-app"].spec["ingress"] == []
    assert found["network/sg-app"].spec["egress"] == [
        tcp(443, "HTTPS to ECR, AWS APIs and Azure OpenAI", cidr="0.0.0.0/0")
    ]
    assert expand(without("service"))["network/sg-alb"].spec["egress"] == []
    assert expand(without("service"))["network/sg-docdb"].spec["ingress"] == []


# -- warnings -------------------------------------------------------------------------


def test_no_nat_with_a_service_warns_on_every_private_route_table() -> None:
    found = expand(nat_gateways(0))
    for az in (AZ_A, AZ_B):
        assert found[f"network/rt-private-{az}"].warnings == (network.NO_NAT,)
    assert network.NO_NAT.endswith(
        "service cannot pull its image: no NAT gateway and no VPC endpoints"
    )
    assert found["network/rt-public"].warnings == ()


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(nat_gateways(1), id="a NAT gateway"),
        pytest.param(
            lambda spec: (nat_gateways(0)(spec), without("service")(spec)),
            id="no service to pull an image",
        ),
    ],
)
def test_no_warning_when_the_service_can_pull_or_there_is_none(edit: Edit) -> None:
    assert all(not r.warnings for r in expand(edit).values())


# -- fit with the rest of plumb -------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 2])
def test_every_expanded_spec_validates_against_its_kind_schema(count: int) -> None:
    for res in expand(nat_gateways(count)).values():
        schema = schema_for(res.kind)
        assert schema, f"no schema for {res.kind}"
        errors = list(Draft202012Validator(schema).iter_errors(placeholders(res.spec)))
        assert not errors, f"{res.logical_id}: {[e.message for e in errors]}"


@pytest.mark.parametrize("count", [0, 1, 2])
def test_the_whole_environment_has_no_reference_cycle(count: int) -> None:
    doc = Document(
        file="specs/acme-prod.yaml", body=yaml.safe_load((SPECS / "acme-prod.yaml").read_text())
    )
    body = copy.deepcopy(dict(doc.body))
    nat_gateways(count)(body["spec"])
    resources = expand_environment(Document(file=doc.file, body=body))
    Graph(resources)  # raises PlanError on a cycle


def test_expansion_is_pure_the_same_spec_gives_the_same_resources() -> None:
    assert network.expand(view()) == network.expand(view())
