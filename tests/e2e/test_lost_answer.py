"""Every create call of every kind survives a lost answer (issue 8, "The lost answer").

The fault proxy (tests/faults/proxy.py) forwards the armed request to the moto server and
then closes the connection without the answer, as a network does after AWS acted. The real
CLI applies the staging stack through it, then applies again; moto, read directly, must
hold exactly one resource per `plumb:id`, every link where the spec puts it, and the
second apply must make no write.

One stack (acme-staging, every kind) rather than both keeps this affordable: all 28 calls
lose their first answer in one apply, and two of the four creates measured to leave a
duplicate before the guard are run one at a time as well. `Put*` calls are left out: they set a
whole document, so a resend is harmless and botocore keeps retrying them
(controller/aws/retry_guard.py).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.e2e.conftest import Cli
from tests.faults.proxy import FaultProxy

STACK = "acme-staging"
# The writes of a clean apply of the stack that make a resource or a link (checked below).
OPERATIONS = [
    "AllocateAddress",
    "AssociateRouteTable",
    "AttachInternetGateway",
    "AuthorizeSecurityGroupEgress",
    "AuthorizeSecurityGroupIngress",
    "CreateBucket",
    "CreateCacheSubnetGroup",
    "CreateCluster",
    "CreateDBCluster",
    "CreateDBInstance",
    "CreateDBSubnetGroup",
    "CreateInternetGateway",
    "CreateListener",
    "CreateLoadBalancer",
    "CreateLogGroup",
    "CreateNatGateway",
    "CreateReplicationGroup",
    "CreateRepository",
    "CreateRole",
    "CreateRoute",
    "CreateRouteTable",
    "CreateSecret",
    "CreateSecurityGroup",
    "CreateService",
    "CreateSubnet",
    "CreateTargetGroup",
    "CreateVpc",
    "RegisterTaskDefinition",
]
PREFIXES = ("Create", "Allocate", "Register", "Run", "Attach", "Associate", "Authorize")


def test_the_operations_are_every_create_call_of_a_clean_apply(cli: Cli) -> None:
    cli("apply", "specs", "--stack", STACK, "--yes", check=0)
    calls = cli.latest_run()["apiCalls"]["byOperation"]
    writes = {key.split(":", 1)[1] for key in calls if key.split(":", 1)[1].startswith(PREFIXES)}
    assert sorted(writes - {"CreateTags"}) == OPERATIONS


def test_every_create_call_losing_its_first_answer_leaves_no_duplicate_and_no_moved_link(
    cli: Cli, aws: Any, endpoint: str
) -> None:
    # Every operation's first answer lost in one apply: each create meets the lost answer,
    # and so does the observation and adoption of every one of them at once.
    with FaultProxy(endpoint, lose_answer_to=OPERATIONS) as proxy:
        cli.env["AWS_ENDPOINT_URL"] = proxy.url
        first = cli("apply", "specs", "--stack", STACK, "--yes")
        lost = sorted(key.split(":")[-1] for key in proxy.injected if key.startswith("lost:"))
        second = cli("apply", "specs", "--stack", STACK, "--yes", check=0)
    assert first.returncode == 0, first.stdout + first.stderr
    assert lost == OPERATIONS
    twins = {lid: ids for lid, ids in owned(aws).items() if len(ids) > 1}
    assert twins == {}, "lost answers left duplicates"
    assert cli.latest_run()["apiCalls"]["writes"] == 0, second.stdout
    assert_links_in_place(aws)


# One lost answer alone: CreateVpc (its duplicate once moved the live VPC's gateway) and
# CreateRouteTable (sent again with its client token).
@pytest.mark.parametrize("operation", ["CreateVpc", "CreateRouteTable"])
def test_a_lost_answer_makes_no_duplicate_and_moves_no_link(
    cli: Cli, aws: Any, endpoint: str, operation: str
) -> None:
    with FaultProxy(endpoint, lose_answer_to=[operation]) as proxy:
        cli.env["AWS_ENDPOINT_URL"] = proxy.url
        first = cli("apply", "specs", "--stack", STACK, "--yes")
        assert proxy.injected[f"lost:{_service_of(proxy, operation)}:{operation}"] == 1
        second = cli("apply", "specs", "--stack", STACK, "--yes", check=0)
    assert first.returncode == 0, first.stdout + first.stderr
    twins = {lid: ids for lid, ids in owned(aws).items() if len(ids) > 1}
    assert twins == {}, f"a lost answer to {operation} left duplicates"
    assert cli.latest_run()["apiCalls"]["writes"] == 0, second.stdout
    assert_links_in_place(aws)


def _service_of(proxy: FaultProxy, operation: str) -> str:
    return next(key.split(":")[0] for key in proxy.calls if key.endswith(f":{operation}"))


def owned(aws: Any) -> dict[str, list[str]]:
    """Every resource of the stack in moto, by plumb:id."""
    found: dict[str, list[str]] = {}

    def add(tags: dict[str, str], physical_id: str) -> None:
        if tags.get("plumb:stack") == STACK:
            found.setdefault(tags["plumb:id"], []).append(physical_id)

    ec2 = aws.ec2
    for op, key, id_key in (
        ("describe_vpcs", "Vpcs", "VpcId"),
        ("describe_subnets", "Subnets", "SubnetId"),
        ("describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
        ("describe_addresses", "Addresses", "AllocationId"),
        ("describe_route_tables", "RouteTables", "RouteTableId"),
        ("describe_security_groups", "SecurityGroups", "GroupId"),
        ("describe_nat_gateways", "NatGateways", "NatGatewayId"),
    ):
        for item in getattr(ec2, op)()[key]:
            if item.get("State") not in (None, "pending", "available"):
                continue
            add(_tags(item.get("Tags")), item[id_key])
    tagging = aws.resourcegroupstaggingapi
    for page in tagging.get_paginator("get_resources").paginate():
        for item in page["ResourceTagMappingList"]:
            if ":ec2:" not in item["ResourceARN"] and not _inactive(aws, item["ResourceARN"]):
                add(_tags(item["Tags"]), item["ResourceARN"])
    iam = aws.iam
    for role in iam.list_roles()["Roles"]:
        add(_tags(iam.list_role_tags(RoleName=role["RoleName"])["Tags"]), role["Arn"])
    ecr = aws.ecr
    for repo in ecr.describe_repositories()["repositories"]:
        tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
        add(_tags(tags), repo["repositoryArn"])
    return found


def _inactive(aws: Any, arn: str) -> bool:
    """Deleted ECS services and deregistered task definitions stay listed in moto."""
    if ":task-definition/" in arn:
        out = aws.ecs.describe_task_definition(taskDefinition=arn)
        return bool(out["taskDefinition"]["status"] != "ACTIVE")
    if ":service/" in arn:
        cluster = arn.split("/")[-2]
        [service] = aws.ecs.describe_services(cluster=cluster, services=[arn])["services"]
        return bool(service["status"] != "ACTIVE")
    return False


def _tags(items: Any) -> dict[str, str]:
    return {
        str(t.get("Key", t.get("key"))): str(t.get("Value", t.get("value"))) for t in items or []
    }


def assert_links_in_place(aws: Any) -> None:
    """Each gateway, subnet, table and group hangs off the stack's one VPC."""
    ec2 = aws.ec2
    [vpc] = owned_ids(ec2.describe_vpcs()["Vpcs"], "VpcId")
    for subnet in ec2.describe_subnets()["Subnets"]:
        if _tags(subnet.get("Tags")).get("plumb:stack") == STACK:
            assert subnet["VpcId"] == vpc
    for igw in ec2.describe_internet_gateways()["InternetGateways"]:
        if _tags(igw.get("Tags")).get("plumb:stack") == STACK:
            assert [a["VpcId"] for a in igw["Attachments"]] == [vpc]
    associations: Counter[str] = Counter()
    for table in ec2.describe_route_tables()["RouteTables"]:
        if _tags(table.get("Tags")).get("plumb:stack") == STACK:
            assert table["VpcId"] == vpc
            associations.update(a["SubnetId"] for a in table["Associations"] if "SubnetId" in a)
    assert associations and max(associations.values()) == 1, json.dumps(associations)


def owned_ids(items: list[dict[str, Any]], id_key: str) -> list[str]:
    return [i[id_key] for i in items if _tags(i.get("Tags")).get("plumb:stack") == STACK]
