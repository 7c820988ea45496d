"""Two plumb processes sharing a PostgreSQL state, as replicas would: one writer per stack
at a time, no duplicate resources, one unbroken hash chain."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Cli


@pytest.mark.postgres
def test_two_applies_of_one_stack_on_postgres_take_turns_and_build_each_resource_once(
    cli: Cli, aws, pg_state: str
) -> None:
    # --wait: the second waits for the first's lease instead of stopping, so both succeed
    # and their runs must not interleave; without the lease both would write at once.
    first = cli.popen("apply", "--yes", "--wait", "170", "--stack", "acme-prod")
    second = cli.popen("apply", "--yes", "--wait", "170", "--stack", "acme-prod")
    outputs = [p.communicate(timeout=180) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    runs = sorted(
        (r for r in cli_runs(cli) if r["command"] == "apply"), key=lambda r: r["startedAt"]
    )
    assert len(runs) == 2 and runs[0]["finishedAt"] <= runs[1]["startedAt"], runs
    assert runs[1]["apiCalls"]["writes"] == 0, "the second found the first's work done"
    vpcs = aws.ec2.describe_vpcs(Filters=[{"Name": "tag:plumb:stack", "Values": ["acme-prod"]}])
    assert len(vpcs["Vpcs"]) == 1
    assert "chain intact" in cli("audit", "verify", check=0).stdout


@pytest.mark.postgres
def test_an_apply_of_a_held_stack_names_the_holder_and_stops(cli: Cli, pg_state: str) -> None:
    from controller.state.store import Store

    store = Store(cli.env["PLUMB_STATE"])
    assert store.locks.acquire("acme-prod", "build-7:4242:31:0a1b2c", 600)
    try:
        done = cli("apply", "--yes", "--stack", "acme-prod", check=1)
        assert "stack acme-prod is locked by plumb pid 4242 on build-7 (run 31)" in done.stderr
        assert "Traceback" not in done.stderr
        assert store.runs.recent() == [], "a refused run begins none"
        listed = cli("locks", check=0).stdout
        assert "acme-prod" in listed and "pid 4242 on build-7" in listed
    finally:
        store.close()


def cli_runs(cli: Cli) -> list[dict]:
    from controller.state.store import Store

    store = Store(cli.env["PLUMB_STATE"])
    try:
        return [store.runs.get(r["id"]) for r in store.runs.recent()]
    finally:
        store.close()
