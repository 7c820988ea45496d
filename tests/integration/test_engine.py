"""The engine on moto in-process: observe failures, prune, failure isolation, NAT switching.

These go through Runner (observe -> plan -> apply -> state) with the example specs, and
read AWS back through boto3.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from controller.aws.clients import ClientFactory
from controller.cli.verbs import load_desired
from controller.engine.plan import PlanOptions
from controller.engine.runner import Runner
from tests.integration.sqlite_runner import sqlite_runner

ROOT = Path(__file__).resolve().parents[2]
STAGING = "acme-staging"


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    shutil.copy(ROOT / "specs" / "acme-staging.yaml", folder)
    return folder


@pytest.fixture
def runner(aws: None, tmp_path: Path) -> Iterator[Runner]:
    yield sqlite_runner(tmp_path, max_attempts=1)


def edit(specs: Path, change) -> None:
    path = specs / "acme-staging.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def failing(service: str, operation: str):
    """A ClientFactory whose `operation` always fails, as in an AWS outage."""

    class Failing(ClientFactory):
        def _make(self, svc: str, region: str):
            client = super()._make(svc, region)

            def boom(**_: object) -> None:
                raise ClientError(
                    {"Error": {"Code": "ServiceUnavailable", "Message": "simulated outage"}},
                    operation,
                )

            if service == svc:
                client.meta.events.register(f"before-call.{service}.{operation}", boom)
            return client

    return Failing


def live_nats() -> list[dict]:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    return [
        n
        for n in ec2.describe_nat_gateways()["NatGateways"]
        if n["State"] in ("pending", "available")
    ]


def test_more_deletes_than_max_deletes_are_refused_without_the_allowance(
    runner: Runner, specs: Path
) -> None:
    edit(specs, lambda d: d["spec"]["network"].update(natGateways=2))
    runner.apply(load_desired(specs), PlanOptions())
    edit(specs, lambda d: d["spec"]["network"].update(natGateways=0))
    result = runner.apply(load_desired(specs), PlanOptions())
    refused = [a for a in result.plan.actions if "maxDeletes" in a.reason]
    assert len(refused) == 4 and result.outcome == "partial"
    assert len(live_nats()) == 2, "nothing deleted"


def test_a_failed_observation_never_deletes_even_with_prune(
    runner: Runner, specs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.apply(load_desired(specs), PlanOptions()).outcome == "succeeded"
    assert len(live_nats()) == 1
    edit(specs, lambda d: d["spec"]["network"].update(natGateways=0))

    factory = failing("ec2", "DescribeNatGateways")
    monkeypatch.setattr(runner, "new_clients", lambda: factory(max_attempts=1))
    result = runner.apply(load_desired(specs), PlanOptions())
    assert result.outcome == "partial"
    assert any("cannot observe NatGateway" in e for e in result.plan.errors)
    assert not [
        a for a in result.plan.actions if a.type.value == "delete" and a.kind == "NatGateway"
    ]
    assert len(live_nats()) == 1, "an outage must never look like an empty account"
    run = runner.store.runs.get(result.run_id)
    assert any("simulated outage" in e for e in run["errors"])


def test_switching_nat_gateways_with_prune_leaves_nothing_behind(
    runner: Runner, specs: Path
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    runner.apply(load_desired(specs), PlanOptions())
    for count, expected in ((2, 2), (0, 0), (1, 1)):
        edit(specs, lambda d, n=count: d["spec"]["network"].update(natGateways=n))
        # 2 -> 0 is four deletes, over maxDeletes (3): allowed here as a person would allow it.
        options = PlanOptions(allow_deletes=True)
        result = runner.apply(load_desired(specs), options)
        if result.outcome != "succeeded":  # a NAT must be gone before its address is released
            result = runner.apply(load_desired(specs), options)
        assert result.outcome == "succeeded", result.plan.errors
        assert len(live_nats()) == expected, f"natGateways: {count}"
        owned = [
            a
            for a in ec2.describe_addresses()["Addresses"]
            if any(t["Key"] == "plumb:stack" for t in a.get("Tags", []))
        ]
        assert len(owned) == expected, "no stray Elastic IP"
        again = runner.apply(load_desired(specs), PlanOptions())
        assert again.api_calls["writes"] == 0, again.api_calls["byOperation"]


def test_a_failure_skips_its_dependents_and_not_unrelated_work(
    runner: Runner, specs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = failing("ec2", "CreateSubnet")
    runner.new_clients = lambda: factory(max_attempts=1)  # type: ignore[method-assign]
    result = runner.apply(load_desired(specs), PlanOptions())
    assert result.outcome == "partial"
    status = {lid.split("/", 1)[1]: o.status for lid, o in result.outcomes.items()}
    assert status["network/vpc"] == "applied"
    assert status["network/subnet-public-us-east-1a"] == "failed"
    assert status["network/igw"] == "applied", "unrelated to the subnets"
    assert status["network/rt-public"] == "skipped", "depends on a failed subnet"
    assert status["storage/bucket"] == "applied"

    del runner.new_clients  # the outage is over
    finished = runner.apply(load_desired(specs), PlanOptions())
    assert finished.outcome == "succeeded", "the next run finishes the work"
    assert finished.plan.counts()["create"] > 0


def test_a_new_vpc_cidr_is_refused_then_replaced_in_a_valid_order(
    runner: Runner, specs: Path
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    runner.apply(load_desired(specs), PlanOptions())

    def move(doc: dict) -> None:
        net = doc["spec"]["network"]
        net["cidr"] = "10.31.0.0/16"
        net["publicSubnets"] = ["10.31.0.0/24", "10.31.1.0/24"]
        net["privateSubnets"] = ["10.31.10.0/24", "10.31.11.0/24"]

    edit(specs, move)
    refused = runner.apply(load_desired(specs), PlanOptions())
    assert refused.api_calls["writes"] == 0
    assert all(
        "--allow-replace" in a.reason for a in refused.plan.actions if a.type.value == "blocked"
    )

    allowed = PlanOptions(allow_replace=True, allow_deletes=True)
    replaced = runner.apply(load_desired(specs), allowed)
    assert replaced.outcome == "succeeded", replaced.failed
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:plumb:stack", "Values": [STAGING]}])["Vpcs"]
    assert [v["CidrBlock"] for v in vpcs] == ["10.31.0.0/16"], "the old VPC is gone"
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}])
    assert len(subnets["Subnets"]) == 4
    assert len(live_nats()) == 1 and len(ec2.describe_addresses()["Addresses"]) == 1
    again = runner.apply(load_desired(specs), allowed)
    assert again.outcome == "no-changes", [
        (a.logical_id, a.type.value, [c.to_json() for c in a.changes])
        for a in again.plan.actions
        if a.type.value != "noop"
    ]


def test_the_state_keeps_a_hash_of_what_each_resource_was_asked_to_be(
    runner: Runner, specs: Path
) -> None:
    runner.apply(load_desired(specs), PlanOptions())
    before = {r["logicalId"]: r["desiredHash"] for r in runner.store.resources.rows(STAGING)}
    assert all(len(h) == 64 for h in before.values()), before
    edit(specs, lambda d: d["spec"]["storage"].update(expireAfterDays=45))
    runner.apply(load_desired(specs), PlanOptions())
    after = {r["logicalId"]: r["desiredHash"] for r in runner.store.resources.rows(STAGING)}
    changed = {lid for lid in before if before[lid] != after[lid]}
    assert changed == {f"{STAGING}/storage/bucket"}


def test_plan_detailed_exitcode_is_2_when_only_blocked_work_remains(
    runner: Runner, specs: Path
) -> None:
    from rich.console import Console

    from controller.cli.verbs import do_plan

    runner.apply(load_desired(specs), PlanOptions())

    def move(doc: dict) -> None:
        doc["spec"]["network"]["cidr"] = "10.31.0.0/16"
        doc["spec"]["network"]["publicSubnets"] = ["10.31.0.0/24", "10.31.1.0/24"]
        doc["spec"]["network"]["privateSubnets"] = ["10.31.10.0/24", "10.31.11.0/24"]

    edit(specs, move)
    desired, quiet = load_desired(specs), Console(file=io.StringIO())
    plan = runner.plan(desired, PlanOptions()).plan
    assert not plan.changes and any(a.type.value == "blocked" for a in plan.actions)
    assert do_plan(runner, desired, PlanOptions(), "text", None, True, quiet) == 2
    assert do_plan(runner, desired, PlanOptions(), "text", None, False, quiet) == 0


def test_a_held_stack_names_its_holder_and_the_time_its_lease_has_left(
    runner: Runner, specs: Path
) -> None:
    from controller.errors import LockError

    other = "build-host-7:4242:0123456789abcdef"
    assert runner.store.locks.acquire(STAGING, other, 600)
    with pytest.raises(LockError) as held:
        runner.apply(load_desired(specs), PlanOptions())
    message = str(held.value)
    assert f"stack {STAGING} is locked by plumb pid 4242 on build-host-7 since " in message
    left = int(message.split("its lease has ")[1].split(" s left")[0])
    assert 590 <= left <= 600


def test_a_no_op_run_costs_a_few_state_transactions_not_some_per_resource(
    runner: Runner, specs: Path
) -> None:
    from sqlalchemy import event

    desired = load_desired(specs)
    runner.apply(desired, PlanOptions())
    commits: list[str] = []
    event.listen(runner.store.engine, "commit", lambda conn: commits.append("commit"))
    noop = runner.apply(desired, PlanOptions())
    assert noop.api_calls["writes"] == 0 and len(desired.resources) > 25
    # lease, run, its changes, its resource rows, the seal, its report and the previous
    # run's page relinked to it, the lease back: a fixed few, whatever the resources
    assert len(commits) <= 11, f"{len(commits)} transactions for {len(desired.resources)}"
    rows = {r["logicalId"]: r for r in runner.store.resources.rows(STAGING)}
    assert all(rows[r.logical_id]["lastRunId"] == noop.run_id for r in desired.resources)
    changes = runner.store.runs.get(noop.run_id)["changes"]
    assert len(changes) == len(desired.resources)
    assert {c["outcome"] for c in changes} == {"unchanged"}


def test_a_run_whose_holder_died_is_sealed_as_interrupted_by_the_run_that_takes_over(
    runner: Runner, specs: Path
) -> None:
    import time

    from controller.audit import verify as audit

    desired = load_desired(specs)
    killed = runner.store.runs.begin("cli-apply", "apply", [STAGING])
    # Its process died holding the stack; the lease runs out a moment later.
    assert runner.store.locks.acquire(STAGING, f"build-7:4242:{killed}:0a1b2c", 0.5)
    time.sleep(0.6)
    taker = runner.apply(desired, PlanOptions())
    closed = runner.store.runs.get(killed)
    assert closed["outcome"] == "interrupted" and closed["hash"]
    [why] = closed["errors"]
    assert f"plumb pid 4242 on build-7 (run {killed}) held stack {STAGING} since " in why
    assert f"run {taker.run_id} took the stack over" in why
    assert runner.store.chain.unsealed() == []
    assert audit.verify(runner.store).ok
