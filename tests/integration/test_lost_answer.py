"""A create whose answer is lost never makes a duplicate (issue 8), on moto in-process.

An answer is lost the way a proxy loses it: moto acts on the request (its `before-send`
stub answers), then a handler registered after it raises ConnectionClosedError, which
botocore would retry. The guard (controller/aws/retry_guard.py) stops the resend of calls
without a client token; the apply observes by tag and adopts. Also here: every kind's
"already exists" answer to a resent create adopts its own resource, and two resources
carrying one plumb:id are reported, the one in use kept and no link moved.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectionClosedError
from rich.console import Console

from controller.aws.clients import ClientFactory
from controller.aws.context import Context
from controller.aws.retry_guard import AmbiguousWrite, create_attempt
from controller.cli.verbs import do_plan, load_desired
from controller.config import Settings
from controller.engine.plan import PlanOptions
from controller.engine.runner import Runner
from controller.kinds.registry import REGISTRY, load_all
from controller.kinds.tags import to_dict
from controller.reports.files import records
from tests.conformance import sample_for
from tests.integration.sqlite_runner import sqlite_runner

ROOT = Path(__file__).resolve().parents[2]
STACK = "acme-staging"
EC2_KINDS = {  # describe call, list key, id key: every EC2 kind the stack has
    "describe_vpcs": ("Vpcs", "VpcId"),
    "describe_subnets": ("Subnets", "SubnetId"),
    "describe_internet_gateways": ("InternetGateways", "InternetGatewayId"),
    "describe_addresses": ("Addresses", "AllocationId"),
    "describe_route_tables": ("RouteTables", "RouteTableId"),
    "describe_security_groups": ("SecurityGroups", "GroupId"),
}


class LosingClients(ClientFactory):
    """Clients whose next answer to each armed operation is lost after moto acted on it."""

    armed: set[str]
    lost: list[str]
    sent: Counter[str]

    def _make(self, service: str, region: str) -> Any:
        client = super()._make(service, region)

        def lose(request: Any, event_name: str = "", **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[-1]  # before-send.ec2.CreateVpc
            self.sent[operation] += 1
            if operation in self.armed:
                self.armed.discard(operation)
                self.lost.append(operation)
                raise ConnectionClosedError(endpoint_url=request.url)

        # After moto's own before-send stub, so the request is carried out first.
        client.meta.events.register_last("before-send", lose)
        return client


def losing(*operations: str, max_attempts: int = 3) -> LosingClients:
    factory = LosingClients(max_attempts=max_attempts)
    factory.armed, factory.lost, factory.sent = set(operations), [], Counter()
    return factory


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    shutil.copy(ROOT / "specs" / f"{STACK}.yaml", folder)
    return folder


@pytest.fixture
def runner(aws: None, tmp_path: Path) -> Iterator[Runner]:
    yield sqlite_runner(tmp_path, max_attempts=3)


def ec2() -> Any:
    return boto3.client("ec2", region_name="us-east-1")


def by_plumb_id() -> dict[str, list[str]]:
    """Every EC2 resource of the stack, by plumb:id: one physical id each when all is well."""
    out: dict[str, list[str]] = {}
    for op, (key, id_key) in EC2_KINDS.items():
        for item in getattr(ec2(), op)()[key]:
            lid = to_dict(item.get("Tags")).get("plumb:id")
            if lid:
                out.setdefault(lid, []).append(item[id_key])
    return out


def links() -> dict[str, Any]:
    """Which VPC each gateway, subnet and route table is linked to, and the associations."""
    client = ec2()
    out: dict[str, Any] = {}
    for igw in client.describe_internet_gateways()["InternetGateways"]:
        out[igw["InternetGatewayId"]] = sorted(a["VpcId"] for a in igw.get("Attachments", []))
    for rtb in client.describe_route_tables()["RouteTables"]:
        if _lid(rtb):  # a new VPC's main table is AWS's, not the stack's
            out[rtb["RouteTableId"]] = sorted(a.get("SubnetId", "") for a in rtb["Associations"])
    return out


# -- the guard, on one client ------------------------------------------------------------


def test_the_guard_stops_the_resend_of_a_create_without_a_token(aws: None) -> None:
    factory = losing("CreateVpc", max_attempts=5)
    client = factory.client("ec2", "us-east-1")
    with pytest.raises(AmbiguousWrite) as caught:
        client.create_vpc(CidrBlock="10.9.0.0/16")
    assert isinstance(caught.value.original, ConnectionClosedError)
    assert factory.sent["CreateVpc"] == 1, "botocore must not send it again"
    assert len([v for v in ec2().describe_vpcs()["Vpcs"] if v["CidrBlock"] == "10.9.0.0/16"]) == 1


def test_a_create_with_a_client_token_is_resent_and_answered_with_the_first(aws: None) -> None:
    vpc = ec2().create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    factory = losing("CreateRouteTable", max_attempts=5)
    client = factory.client("ec2", "us-east-1")
    made = client.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    assert factory.sent["CreateRouteTable"] == 2, "botocore resent it"
    tables = ec2().describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    assert [t["RouteTableId"] for t in tables["RouteTables"] if not t["Associations"]] == [made]


# -- the apply after a lost answer --------------------------------------------------------


# A few calls of each sort (no token, a token, a link, a new revision); the end-to-end test
# (tests/e2e/test_lost_answer.py) covers every create call of every kind.
@pytest.mark.parametrize(
    "operation",
    [
        "CreateVpc",
        "CreateRouteTable",
        "AttachInternetGateway",
        "RegisterTaskDefinition",
    ],
)
def test_a_lost_answer_leaves_one_resource_and_a_converged_stack(
    runner: Runner, specs: Path, monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    factory = losing(operation)
    monkeypatch.setattr(runner, "new_clients", lambda: factory)
    first = runner.apply(load_desired(specs), PlanOptions())
    assert factory.lost == [operation], "the answer was lost once"
    assert first.outcome == "succeeded", first.plan.errors
    assert {lid: ids for lid, ids in by_plumb_id().items() if len(ids) > 1} == {}
    monkeypatch.setattr(runner, "new_clients", lambda: ClientFactory(max_attempts=1))
    second = runner.apply(load_desired(specs), PlanOptions())
    assert second.api_calls["writes"] == 0, second.api_calls
    assert ecs_task_definition_revisions() == 1


def ecs_task_definition_revisions() -> int:
    ecs = boto3.client("ecs", region_name="us-east-1")
    return len(ecs.list_task_definitions()["taskDefinitionArns"])


# -- "already exists" answered to a resent create -----------------------------------------

# What each named kind's API answers a create resent over the resource the first one made
# (its service, the error code; "" when the API answers with the existing resource).
ALREADY_EXISTS = {
    "Role": ("iam", "EntityAlreadyExists"),
    "SecurityGroup": ("ec2", "InvalidGroup.Duplicate"),
    "Secret": ("secretsmanager", "ResourceExistsException"),
    "LogGroup": ("logs", "ResourceAlreadyExistsException"),
    "Repository": ("ecr", "RepositoryAlreadyExistsException"),
    "CacheSubnetGroup": ("elasticache", "CacheSubnetGroupAlreadyExists"),
    "CacheReplicationGroup": ("elasticache", "ReplicationGroupAlreadyExists"),
    "DocDbSubnetGroup": ("docdb", "DBSubnetGroupAlreadyExists"),
    "DocDbCluster": ("docdb", "DBClusterAlreadyExistsFault"),
    "DocDbInstance": ("docdb", "DBInstanceAlreadyExists"),
    "TargetGroup": ("elbv2", "DuplicateTargetGroupName"),
    "LoadBalancer": ("elbv2", ""),  # same name and settings: the existing one
    "Listener": ("elbv2", ""),  # same port and settings: the existing one
    "EcsService": ("ecs", "InvalidParameterException"),  # "not idempotent", new token
}


@pytest.mark.parametrize("kind", sorted(ALREADY_EXISTS))
def test_a_resent_create_meeting_its_own_resource_adopts_it(ctx: Context, kind: str) -> None:
    load_all()
    rec = REGISTRY[kind]()
    sample = sample_for(kind)
    assert sample is not None
    desired = sample.build(ctx)
    with create_attempt():
        first = rec.create(desired, ctx)  # its answer "lost": the resend follows
    service, code = ALREADY_EXISTS[kind]
    codes: list[str] = []

    def seen(parsed: Any, model: Any, **_: Any) -> None:
        if model.name.startswith(("Create", "Register")):
            codes.append((parsed or {}).get("Error", {}).get("Code", ""))

    client = ctx.client(service)
    client.meta.events.register("after-call", seen)
    with create_attempt():
        again = rec.create(desired, ctx)
    client.meta.events.unregister("after-call", seen)
    assert codes[:1] == [code], f"{kind} met {codes}"
    assert again.physical_id == first.physical_id and again.owned
    assert list(rec.observe([desired], ctx)) == [desired.logical_id]


def test_every_named_kind_of_the_registry_has_an_already_exists_case() -> None:
    load_all()
    unnamed = {  # AWS picks their ids: a resend is stopped by the guard or a client token
        "Vpc", "Subnet", "InternetGateway", "ElasticIp", "NatGateway", "RouteTable",
        "TaskDefinition",
        # Create answers a repeat with the existing one (idempotent by name).
        "EcsCluster", "Bucket",
    }  # fmt: skip
    assert set(REGISTRY) - unnamed == set(ALREADY_EXISTS)


# -- two resources carrying one plumb:id ---------------------------------------------------


def _twin_vpc(lower: bool) -> tuple[str, str]:
    """A stray VPC tagged like the stack's (as a blind resend once made), with an id lower
    (or higher) than the live one's; returns (live, stray)."""
    client = ec2()
    [live] = [v for v in client.describe_vpcs()["Vpcs"] if _lid(v) == f"{STACK}/network/vpc"]
    while True:
        stray = client.create_vpc(
            CidrBlock=live["CidrBlock"],
            TagSpecifications=[{"ResourceType": "vpc", "Tags": live["Tags"]}],
        )["Vpc"]["VpcId"]
        if (stray < live["VpcId"]) == lower:
            return live["VpcId"], stray
        client.delete_vpc(VpcId=stray)


def _lid(item: dict[str, Any]) -> str | None:
    return to_dict(item.get("Tags")).get("plumb:id")


def test_a_twin_with_a_lower_id_is_reported_and_the_live_one_kept(
    runner: Runner, specs: Path
) -> None:
    runner.apply(load_desired(specs), PlanOptions())
    before = links()
    live, stray = _twin_vpc(lower=True)
    result = runner.apply(load_desired(specs), PlanOptions())
    vpc = result.plan.by_id()[f"{STACK}/network/vpc"]
    assert vpc.physical_id == live
    assert any(stray in w and live in w and "by hand" in w for w in result.plan.warnings)
    assert result.plan.twins == {f"{STACK}/network/vpc": (live, (stray,))}
    assert result.api_calls["writes"] == 0 and links() == before, "no link moved"
    console = Console(file=io.StringIO())
    assert do_plan(runner, load_desired(specs), PlanOptions(), "text", None, True, console) == 2


def test_without_the_state_the_twin_others_point_at_is_kept(
    runner: Runner, specs: Path, tmp_path: Path
) -> None:
    runner.apply(load_desired(specs), PlanOptions())
    before = links()
    live, _stray = _twin_vpc(lower=True)
    lost = Settings(state_url=f"sqlite:///{tmp_path}/lost.db", max_attempts=1, reports_dir=tmp_path)
    fresh = Runner(lost, observers=records(lost))
    result = fresh.apply(load_desired(specs), PlanOptions())
    assert result.plan.by_id()[f"{STACK}/network/vpc"].physical_id == live
    assert result.api_calls["writes"] == 0 and links() == before


def test_a_link_that_would_move_between_twins_is_blocked_naming_both(
    runner: Runner, specs: Path
) -> None:
    runner.apply(load_desired(specs), PlanOptions())
    live, stray = _twin_vpc(lower=False)
    client = ec2()
    [igw] = [g for g in client.describe_internet_gateways()["InternetGateways"] if _lid(g)]
    gateway = igw["InternetGatewayId"]
    # Someone moved the gateway to the twin: putting it back is a link between twins.
    client.detach_internet_gateway(InternetGatewayId=gateway, VpcId=live)
    client.attach_internet_gateway(InternetGatewayId=gateway, VpcId=stray)
    result = runner.apply(load_desired(specs), PlanOptions())
    action = result.plan.by_id()[f"{STACK}/network/igw"]
    assert action.type.value == "blocked"
    assert live in action.reason and stray in action.reason and "by hand" in action.reason
    attached = client.describe_internet_gateways(InternetGatewayIds=[gateway])
    assert [a["VpcId"] for a in attached["InternetGateways"][0]["Attachments"]] == [stray]


def test_the_plan_keeps_a_recorded_twin_even_when_another_is_linked_more() -> None:
    from controller.engine.twins import keep_in_use
    from controller.model import Observed

    def vpc(pid: str) -> Observed:
        return Observed("Vpc", "s/network/vpc", pid, {}, {"id": pid}, {"plumb:stack": "s"})

    subnet = Observed("Subnet", "s/network/a", "subnet-1", {"vpcId": "vpc-b"}, {}, {})
    seen = {"s/network/vpc": dataclasses.replace(vpc("vpc-a"), alternates=(vpc("vpc-b"),))}
    seen["s/network/a"] = subnet
    twins = keep_in_use(dict(seen), lambda stack: {"s/network/vpc": "vpc-a"})
    assert twins == {"s/network/vpc": ("vpc-a", ("vpc-b",))}
    linked = dict(seen)
    assert keep_in_use(linked, lambda stack: {}) == {"s/network/vpc": ("vpc-b", ("vpc-a",))}
    assert linked["s/network/vpc"].physical_id == "vpc-b"
