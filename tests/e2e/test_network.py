"""The network through the real CLI: exact rules, repair of a hand-made rule, a killed apply."""

from __future__ import annotations

import signal
import time

from tests.e2e.conftest import Cli

PROD = "acme-prod"


def owned(aws, describe: str, key: str, stack: str = PROD) -> list[dict]:
    items = getattr(aws.ec2, describe)(Filters=[{"Name": "tag:plumb:stack", "Values": [stack]}])[
        key
    ]
    return [i for i in items if i.get("State") not in ("deleted", "deleting")]


def rules(group: dict, direction: str) -> set[tuple]:
    out = set()
    for perm in group["IpPermissions" if direction == "in" else "IpPermissionsEgress"]:
        peers = [r["CidrIp"] for r in perm.get("IpRanges", [])]
        peers += [p["GroupId"] for p in perm.get("UserIdGroupPairs", [])]
        for peer in peers:
            out.add((perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"), peer))
    return out


def test_network_converges_to_exactly_the_traffic_paths(cli: Cli, aws) -> None:
    done = cli("apply", "--yes", "--stack", PROD, check=0)
    # The result lines come in graph order (wave, then logical id), whatever the threads did.
    from controller.cli.verbs import load_desired
    from controller.engine.graph import Graph

    desired = load_desired(str(cli.cwd / "specs"), (PROD,))
    waves = {lid: n for n, wave in enumerate(Graph(desired.resources).waves()) for lid in wave}
    printed = [line.split()[-1] for line in done.stdout.splitlines() if line.startswith("applied")]
    assert printed and printed == sorted(printed, key=lambda lid: (waves[lid], lid))
    assert len(set(printed)) == len(printed) == len(desired.resources)
    (vpc,) = owned(aws, "describe_vpcs", "Vpcs")
    assert vpc["CidrBlock"] == "10.20.0.0/16"
    attr = aws.ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")
    assert attr["EnableDnsHostnames"]["Value"] is True
    subnets = owned(aws, "describe_subnets", "Subnets")
    assert sorted(s["CidrBlock"] for s in subnets) == [
        "10.20.0.0/24",
        "10.20.1.0/24",
        "10.20.10.0/24",
        "10.20.11.0/24",
    ]
    public = {s["CidrBlock"] for s in subnets if s["MapPublicIpOnLaunch"]}
    assert public == {"10.20.0.0/24", "10.20.1.0/24"}
    (igw,) = owned(aws, "describe_internet_gateways", "InternetGateways")
    assert igw["Attachments"][0]["VpcId"] == vpc["VpcId"]
    assert len(owned(aws, "describe_nat_gateways", "NatGateways")) == 1

    groups = {
        g["GroupName"].removeprefix(f"{PROD}-"): g
        for g in owned(aws, "describe_security_groups", "SecurityGroups")
    }
    assert set(groups) == {"alb", "app", "docdb", "redis"}
    ids = {name: g["GroupId"] for name, g in groups.items()}
    assert rules(groups["alb"], "in") == {
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 80, 80, "0.0.0.0/0"),
    }
    assert rules(groups["alb"], "out") == {("tcp", 3000, 3000, ids["app"])}
    assert rules(groups["app"], "in") == {("tcp", 3000, 3000, ids["alb"])}
    assert rules(groups["app"], "out") == {
        ("tcp", 27017, 27017, ids["docdb"]),
        ("tcp", 6379, 6379, ids["redis"]),
        ("tcp", 443, 443, "0.0.0.0/0"),
    }
    assert rules(groups["docdb"], "in") == {("tcp", 27017, 27017, ids["app"])}
    assert rules(groups["redis"], "in") == {("tcp", 6379, 6379, ids["app"])}
    assert rules(groups["docdb"], "out") == rules(groups["redis"], "out") == set()

    cli("apply", "--yes", "--stack", PROD, check=0)
    run = cli.latest_run()
    assert run["apiCalls"]["writes"] == 0, run["apiCalls"]["byOperation"]


def test_a_rule_added_by_hand_is_drift_and_is_revoked(cli: Cli, aws) -> None:
    cli("apply", "--yes", "--stack", PROD, check=0)
    redis = next(
        g
        for g in owned(aws, "describe_security_groups", "SecurityGroups")
        if g["GroupName"] == f"{PROD}-redis"
    )
    aws.ec2.authorize_security_group_ingress(
        GroupId=redis["GroupId"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 6379,
                "ToPort": 6379,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    out = cli("drift", "--stack", PROD, check=2).stdout
    assert "network/sg-redis" in out and "0.0.0.0/0" in out
    cli("apply", "--yes", "--stack", PROD, check=0)
    after = aws.ec2.describe_security_groups(GroupIds=[redis["GroupId"]])["SecurityGroups"][0]
    assert all(r[3] != "0.0.0.0/0" for r in rules(after, "in"))


def test_an_apply_killed_part_way_leaves_no_duplicates_after_a_rerun(cli: Cli, aws) -> None:
    proc = cli.popen("apply", "--yes", "--stack", PROD)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if owned(aws, "describe_nat_gateways", "NatGateways") or owned(
            aws, "describe_addresses", "Addresses"
        ):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    cli("apply", "--yes", "--stack", PROD, check=0)
    assert len(owned(aws, "describe_vpcs", "Vpcs")) == 1
    assert len(owned(aws, "describe_nat_gateways", "NatGateways")) == 1
    addresses = aws.ec2.describe_addresses()["Addresses"]
    assert len(addresses) == 1, "no stray Elastic IP"
    assert addresses[0].get("AssociationId") or addresses[0].get("NetworkInterfaceId")
    assert len(owned(aws, "describe_subnets", "Subnets")) == 4
    cli("apply", "--yes", "--stack", PROD, check=0)
    assert cli.latest_run()["apiCalls"]["writes"] == 0


def test_overlapping_subnets_are_refused_and_nothing_is_built(cli: Cli, aws, workdir) -> None:
    spec = workdir / "specs" / "acme-prod.yaml"
    spec.write_text(
        spec.read_text().replace(
            "privateSubnets: [10.20.10.0/24, 10.20.11.0/24]",
            "privateSubnets: [10.20.0.128/25, 10.99.0.0/24]",
        )
    )
    err = cli("apply", "--yes", check=1).stderr
    assert "spec.network.privateSubnets[0]" in err and "overlaps" in err
    assert "spec.network.privateSubnets[1]" in err and "not inside" in err
    assert owned(aws, "describe_vpcs", "Vpcs", "acme-staging") == []
