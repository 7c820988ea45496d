"""plumb on a busy, flaky AWS: the real CLI through a proxy that throttles, fails and drops.

The CLI talks to `FaultProxy` (tests/faults/proxy.py), which forwards to the moto server
and answers a share of the calls with a fault in its protocol's own shape. What AWS holds
afterwards is read from moto directly, never through the proxy, and counted by `plumb:id`:
a retry that made something twice shows as two resources with one id.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from controller.reports import render
from tests.e2e.conftest import Cli
from tests.faults.proxy import SIGNING_NAMES, FaultProxy

TAG_ID = "plumb:id"
READS = ("Describe", "Get", "List", "BatchGet")
MAX_APPLIES = 1


@pytest.fixture
def proxied(cli: Cli, endpoint: str) -> Iterator[Callable[..., FaultProxy]]:
    """Starts a proxy in front of the moto server and points the CLI at it."""
    started: list[FaultProxy] = []

    def start(**options: Any) -> FaultProxy:
        proxy = FaultProxy(endpoint, **options)
        cli.env["AWS_ENDPOINT_URL"] = proxy.start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


# -- reading AWS back, by ownership tag ---------------------------------------------------


def _tags(items: list[dict[str, Any]] | None, key: str = "Key", value: str = "Value") -> dict:
    return {t[key]: t[value] for t in items or []}


def _ec2_ids(aws: Any) -> dict[str, Counter[str]]:
    ec2 = aws.ec2
    owned = [{"Name": "tag-key", "Values": [TAG_ID]}]
    reads = {
        "Vpc": (ec2.describe_vpcs, "Vpcs"),
        "Subnet": (ec2.describe_subnets, "Subnets"),
        "InternetGateway": (ec2.describe_internet_gateways, "InternetGateways"),
        "ElasticIp": (ec2.describe_addresses, "Addresses"),
        "RouteTable": (ec2.describe_route_tables, "RouteTables"),
        "SecurityGroup": (ec2.describe_security_groups, "SecurityGroups"),
    }
    found = {
        kind: Counter(_tags(i.get("Tags")).get(TAG_ID) for i in read(Filters=owned)[key])
        for kind, (read, key) in reads.items()
    }
    # moto ignores tag filters on NAT gateways (reconcilers/nat_gateway.py): read them all.
    nats = [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"]
    found["NatGateway"] = Counter(_tags(n.get("Tags")).get(TAG_ID) for n in nats)
    return found


def _service_ids(aws: Any) -> dict[str, Counter[str]]:
    iam, ecr, logs, elb = aws.iam, aws.ecr, aws.logs, aws.elbv2
    found: dict[str, Counter[str]] = {}
    found["Role"] = Counter(
        _tags(iam.list_role_tags(RoleName=r["RoleName"])["Tags"]).get(TAG_ID)
        for r in iam.list_roles()["Roles"]
    )
    found["Secret"] = Counter(
        _tags(s.get("Tags")).get(TAG_ID) for s in aws.secretsmanager.list_secrets()["SecretList"]
    )
    found["Repository"] = Counter(
        _tags(ecr.list_tags_for_resource(resourceArn=r["repositoryArn"])["tags"]).get(TAG_ID)
        for r in ecr.describe_repositories()["repositories"]
    )
    found["LogGroup"] = Counter(
        logs.list_tags_log_group(logGroupName=g["logGroupName"])["tags"].get(TAG_ID)
        for g in logs.describe_log_groups()["logGroups"]
    )
    lbs = [lb["LoadBalancerArn"] for lb in elb.describe_load_balancers()["LoadBalancers"]]
    groups = {
        "LoadBalancer": lbs,
        "TargetGroup": [
            tg["TargetGroupArn"] for tg in elb.describe_target_groups()["TargetGroups"]
        ],
        "Listener": [
            li["ListenerArn"]
            for lb in lbs
            for li in elb.describe_listeners(LoadBalancerArn=lb)["Listeners"]
        ],
    }
    for kind, arns in groups.items():
        described = elb.describe_tags(ResourceArns=arns)["TagDescriptions"] if arns else []
        found[kind] = Counter(_tags(d["Tags"]).get(TAG_ID) for d in described)
    return found


def _data_ids(aws: Any) -> dict[str, Counter[str]]:
    docdb, cache, ecs, s3 = aws.docdb, aws.elasticache, aws.ecs, aws.s3

    def rds_id(arn: str) -> str | None:
        return _tags(docdb.list_tags_for_resource(ResourceName=arn)["TagList"]).get(TAG_ID)

    found: dict[str, Counter[str]] = {
        "DocDbCluster": Counter(
            rds_id(c["DBClusterArn"]) for c in docdb.describe_db_clusters()["DBClusters"]
        ),
        "DocDbInstance": Counter(
            rds_id(i["DBInstanceArn"]) for i in docdb.describe_db_instances()["DBInstances"]
        ),
        "CacheReplicationGroup": Counter(
            _tags(cache.list_tags_for_resource(ResourceName=g["ARN"])["TagList"]).get(TAG_ID)
            for g in cache.describe_replication_groups()["ReplicationGroups"]
        ),
    }
    services = [
        s
        for cluster in ecs.list_clusters()["clusterArns"]
        for arns in [ecs.list_services(cluster=cluster)["serviceArns"]]
        if arns
        for s in ecs.describe_services(cluster=cluster, services=arns, include=["TAGS"])["services"]
    ]
    found["EcsService"] = Counter(
        _tags(s.get("tags"), "key", "value").get(TAG_ID) for s in services
    )
    found["Bucket"] = Counter(
        _tags(s3.get_bucket_tagging(Bucket=b["Name"])["TagSet"]).get(TAG_ID)
        for b in s3.list_buckets()["Buckets"]
    )
    return found


def owned_ids(aws: Any) -> dict[str, Counter[str]]:
    """Per kind, how many resources in moto carry each `plumb:id`."""
    return {**_ec2_ids(aws), **_service_ids(aws), **_data_ids(aws)}


def duplicates(found: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    """Kinds with `plumb:id`s that more than one resource carries (untagged ones, such as
    the master-password secret DocumentDB makes itself, are not plumb's)."""
    return {
        kind: {lid: n for lid, n in ids.items() if lid and n > 1}
        for kind, ids in found.items()
        if any(lid and n > 1 for lid, n in ids.items())
    }


def writes(run: dict[str, Any]) -> dict[str, int]:
    ops = run["apiCalls"]["byOperation"]
    return {op: n for op, n in ops.items() if not op.split(":", 1)[1].startswith(READS)}


def by_service(injected: Counter[str]) -> Counter[str]:
    """`fault:service` counts, summed per service (as the SigV4 scope names it)."""
    out: Counter[str] = Counter()
    for key, n in injected.items():
        out[key.split(":")[1]] += n
    return out


def in_scope_names(by_boto3_name: dict[str, int]) -> Counter[str]:
    """plumb counts by boto3's service names; DocumentDB and RDS both sign as `rds`."""
    out: Counter[str] = Counter()
    for service, n in by_boto3_name.items():
        out[SIGNING_NAMES.get(service, service)] += n
    return out


# -- the tests ----------------------------------------------------------------------------


def report_of(cli: Cli, run: int, fmt: str) -> str:
    """A run's report as the run wrote it beside the state (no CLI start needed)."""
    return (cli.cwd / ".plumb" / "reports" / f"run-{run:06d}.{fmt}").read_text()


def check_retries(run: dict[str, Any], injected: Counter[str]) -> None:
    """Every fault the run met was retried by botocore, except where plumb's retry guard
    (controller/aws/retry_guard.py) vetoes the blind retry of a write that mints something (a
    500 or a drop: the request may have run); plumb then observes and decides itself."""
    retried = in_scope_names(run["apiCalls"]["retriesByService"])
    faults = by_service(injected)
    throttles = by_service(Counter({k: n for k, n in injected.items() if k[:9] == "throttle:"}))
    assert sum(retried.values()) == run["apiCalls"]["retries"]
    for service in faults | retried:
        assert throttles[service] <= retried[service] <= faults[service], (service, retried)


def apply_through(cli: Cli, proxy: FaultProxy, number: int, log: list[str]) -> tuple[int, dict]:
    """One `apply --yes` through the proxy: its retries checked against the faults it met,
    and named on the terminal and in both human reports."""
    before, sent, began = Counter(proxy.injected), proxy.calls.total(), time.monotonic()
    done = cli("apply", "--yes")
    run = json.loads(report_of(cli, number, "json"))
    injected = proxy.injected - before
    log.append(
        f"apply {number}: exit {done.returncode} in {time.monotonic() - began:.1f} s, "
        f"{proxy.calls.total() - sent} requests, {run['apiCalls']['total']} calls, faults "
        f"{dict(sorted(injected.items()))}, retries {run['apiCalls']['retriesByService']}"
    )
    log += [
        f"  failed {c['logicalId']}: {c['error']}"
        for c in run["changes"]
        if c["outcome"] == "failed"
    ]
    # Every request the proxy saw was one of the run's calls or one of its retries.
    assert proxy.calls.total() - sent == run["apiCalls"]["total"] + run["apiCalls"]["retries"]
    check_retries(run, injected)
    shown = render.retries_text(run["apiCalls"])
    assert shown or not injected, "faults were met, yet nothing was retried"
    if shown:
        assert f"retries: {shown})" in done.stdout, done.stdout
        assert f"retries ({shown})." in report_of(cli, number, "md")
        assert f"retries ({shown})." in report_of(cli, number, "html")
    assert done.returncode == 0 or run["outcome"] == "partial", done.stdout
    return done.returncode, run


def test_both_stacks_converge_through_one_fault_in_five_calls_and_nothing_is_made_twice(
    cli: Cli, aws: Any, proxied: Callable[..., FaultProxy]
) -> None:
    proxy = proxied(rate=0.2, seed=20)
    log: list[str] = []
    # One apply converges: botocore retries what never reached AWS, and a create whose
    # answer may have been lost is observed and sent again (retry_guard.WRITE_TRIES).
    for number in range(1, MAX_APPLIES + 1):
        code, _ = apply_through(cli, proxy, number, log)
        if code == 0:
            break
    assert code == 0, "\n".join([f"not converged in {MAX_APPLIES} applies", *log])

    code, again = apply_through(cli, proxy, number + 1, log)
    found = owned_ids(aws)
    log.append(f"duplicates {duplicates(found)}")
    print("\n" + "\n".join(log))
    assert code == 0 and writes(again) == {}, log
    assert duplicates(found) == {}, "a retry made something twice"
    assert all(sum(ids.values()) >= 2 for ids in found.values()), found  # both stacks built


def test_a_service_that_throttles_every_call_ends_the_run_naming_it_and_that_it_gave_up(
    cli: Cli, proxied: Callable[..., FaultProxy]
) -> None:
    proxy = proxied(rate=1.0, faults=["throttle"], services=["iam"])

    done = cli("--max-attempts", "2", "apply", "--yes", "--stack", "acme-staging", check=1)

    assert "iam ListRoles: gave up after 2 attempts" in done.stdout, done.stdout
    assert set(by_service(proxy.injected)) == {"iam"}
    assert proxy.calls["iam:ListRoles"] == 2, "two attempts in all, not one plus two retries"
