"""The dependency graph: references, waves, cycles and resolution."""

from __future__ import annotations

import pytest

from controller.engine.graph import Graph, references, resolve
from controller.errors import PlanError
from controller.model import UNKNOWN, Resource


def res(name: str, **spec: object) -> Resource:
    return Resource(kind="Thing", logical_id=f"acme-prod/{name}", spec=spec, region="us-east-1")


def test_waves_put_every_resource_after_what_it_refers_to() -> None:
    graph = Graph(
        [
            res("net/subnet", vpcId={"ref": "net/vpc", "attr": "id"}),
            res("net/vpc", cidr="10.0.0.0/16"),
            res(
                "net/rt",
                subnets=[{"ref": "net/subnet", "attr": "id"}],
                vpcId={"ref": "net/vpc", "attr": "id"},
            ),
        ]
    )
    assert graph.waves() == [["acme-prod/net/vpc"], ["acme-prod/net/subnet"], ["acme-prod/net/rt"]]
    assert graph.dependents("acme-prod/net/vpc") == {"acme-prod/net/subnet", "acme-prod/net/rt"}


def test_a_reference_to_nothing_is_an_error_naming_both_ends() -> None:
    with pytest.raises(PlanError, match="acme-prod/net/subnet refers to acme-prod/net/vpc"):
        Graph([res("net/subnet", vpcId={"ref": "net/vpc", "attr": "id"})])


def test_a_cycle_is_an_error() -> None:
    with pytest.raises(PlanError, match="cycle"):
        Graph([res("a", x={"ref": "b", "attr": "id"}), res("b", x={"ref": "a", "attr": "id"})])


def test_references_are_found_inside_joins_and_lists() -> None:
    spec = {
        "arns": [{"join": ["arn:", {"ref": "aws:account", "attr": "id"}, ":x"]}],
        "vpc": {"ref": "net/vpc", "attr": "id"},
    }
    assert references(spec) == {"aws:account", "net/vpc"}


def test_resolve_fills_known_values_and_marks_the_rest_unknown() -> None:
    r = res(
        "net/subnet",
        vpcId={"ref": "net/vpc", "attr": "id"},
        arn={"join": ["arn:aws:bedrock:us-east-1:", {"ref": "aws:account", "attr": "id"}, ":p"]},
        routes=[{"gw": {"ref": "net/igw", "attr": "id"}}],
    )
    known = {"acme-prod/net/vpc": {"id": "vpc-1"}}
    out = resolve(r, known.get, lambda: "123456789012")
    assert out.spec["vpcId"] == "vpc-1"
    assert out.spec["arn"] == "arn:aws:bedrock:us-east-1:123456789012:p"
    assert out.spec["routes"][0]["gw"] is UNKNOWN
