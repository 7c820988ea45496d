"""The state store on SQLite and PostgreSQL: runs, changes, the create journal, drift
streaks, lease locks, and the hash chain under concurrent writers."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select, text

from controller.audit.verify import verify
from controller.model import SENSITIVE, UNKNOWN, Action, ActionType, FieldChange, Observed
from controller.state.models import GENESIS_HASH, NON_CONVERGING_AFTER, Change, ResourceRow
from controller.state.store import DEFAULT_URL, Store

if TYPE_CHECKING:
    from tests.unit.conftest import Clock

COMMIT = {"sha": "0123456789abcdef", "author": "Ada <ada@acme.example>", "message": "Scale up"}
VPC = "acme-prod/network/vpc"


def _update(logical_id: str = VPC, *changes: FieldChange) -> Action:
    return Action(ActionType.UPDATE, "Vpc", logical_id, changes=changes, physical_id="vpc-1")


def _finished_run(store: Store, outcome: str = "succeeded", stacks: tuple[str, ...] = ()) -> int:
    run_id = store.runs.begin("cli-apply", "plumb apply", stacks or ("acme-prod",), COMMIT, "/r")
    store.chain.seal(run_id, outcome)
    return run_id


# -- runs -----------------------------------------------------------------------------------


def test_begun_run_is_running_with_its_commit(store: Store) -> None:
    run_id = store.runs.begin(
        "sync",
        "plumb sync",
        ["acme-staging", "acme-prod"],
        {**COMMIT, "signature": "good"},
        "git@x",
    )
    run = store.runs.get(run_id)
    assert run["outcome"] == "running" and run["hash"] is None and run["changes"] == []
    assert run["commit"] == {**COMMIT, "signature": "good"}
    assert run["stacks"] == ["acme-prod", "acme-staging"] and run["source"] == "git@x"


def test_a_sealed_run_keeps_outcome_counts_and_calls(store: Store) -> None:
    run_id = store.runs.begin("cli-apply", "plumb apply", ["acme-prod"], COMMIT, "/repo")
    store.runs.record_change(run_id, _update(VPC, FieldChange("cidr", "a", "b")), "applied")
    store.runs.record_change(run_id, _update("acme-prod/network/igw"), "failed", error="boom")
    calls = {"total": 3, "reads": 2, "writes": 1, "retries": 0, "byOperation": {"ec2:X": 3}}
    digest = store.chain.seal(
        run_id,
        "partial",
        api_calls=calls,
        timings={"apply": 1.5},
        errors=["one failed"],
        warnings=["careful"],
    )
    run = store.runs.get(run_id)
    assert run["hash"] == digest and len(digest) == 64 and run["prevHash"] == GENESIS_HASH
    assert run["outcome"] == "partial" and run["apiCalls"] == calls
    assert run["counts"]["update"] == 2 and run["counts"]["failed"] == 1
    assert run["errors"] == ["one failed"] and run["warnings"] == ["careful"]
    assert run["timings"] == {"apply": 1.5}
    assert run["finishedAt"] >= run["startedAt"]


def test_given_counts_override_those_derived_from_changes(store: Store) -> None:
    run_id = store.runs.begin("cli-plan", "plumb plan", ["acme-prod"], None, "")
    store.chain.seal(run_id, "planned", counts={"noop": 7})
    assert store.runs.get(run_id)["counts"]["noop"] == 7


def test_timestamps_come_back_as_utc(store: Store) -> None:
    run = store.runs.get(_finished_run(store))
    assert run["startedAt"].endswith("+00:00") and run["finishedAt"].endswith("+00:00")


def test_second_run_links_to_first(store: Store) -> None:
    first, second = _finished_run(store), _finished_run(store)
    assert store.runs.get(second)["prevHash"] == store.runs.get(first)["hash"]
    assert [store.runs.get(first)["seq"], store.runs.get(second)["seq"]] == [1, 2]


def test_runs_lists_newest_first_and_filters_by_stack(store: Store) -> None:
    prod = _finished_run(store, stacks=("acme-prod",))
    staging = _finished_run(store, stacks=("acme-staging",))
    both = _finished_run(store, stacks=("acme-prod", "acme-staging"))
    assert [r["id"] for r in store.runs.recent()] == [both, staging, prod]
    assert [r["id"] for r in store.runs.recent(stack="acme-prod")] == [both, prod]
    assert [r["id"] for r in store.runs.recent(stack="acme")] == []
    assert [r["id"] for r in store.runs.recent(limit=1)] == [both]
    assert store.runs.get("latest")["id"] == both


@pytest.mark.parametrize(
    ("call", "error"),
    [
        pytest.param(lambda s, r: s.runs.get(r + 99), KeyError, id="a missing run is a KeyError"),
        pytest.param(lambda s, r: s.chain.seal(r, "done"), ValueError, id="unknown outcome"),
        pytest.param(
            lambda s, r: s.runs.record_change(r, _update(), "maybe"),
            ValueError,
            id="unknown change",
        ),
    ],
)
def test_bad_calls_are_refused(store: Store, call: Callable[..., Any], error: type) -> None:
    run_id = store.runs.begin("cli-apply", "plumb apply", ["acme-prod"], None, "")
    with pytest.raises(error):
        call(store, run_id)


def test_a_sealed_run_takes_no_more_changes(store: Store) -> None:
    run_id = _finished_run(store)
    with pytest.raises(ValueError, match="sealed"):
        store.runs.record_change(run_id, _update(), "applied")
    with pytest.raises(ValueError, match="sealed"):
        store.chain.seal(run_id, "failed")


def test_latest_of_an_empty_store_is_a_key_error(store: Store) -> None:
    with pytest.raises(KeyError):
        store.runs.get("latest")


# -- changes and secrets ------------------------------------------------------------------


def test_change_keeps_diff_reason_and_outcome(store: Store) -> None:
    run_id = store.runs.begin("cli-apply", "plumb apply", ["acme-prod"], None, "")
    action = Action(
        ActionType.REPLACE,
        "Subnet",
        "acme-prod/network/public-a",
        changes=(FieldChange("cidr", "10.0.0.0/24", "10.0.9.0/24", immutable=True),),
        reason="replace refused",
        physical_id="subnet-1",
    )
    store.runs.record_change(run_id, action, "refused")
    (change,) = store.runs.get(run_id)["changes"]
    assert change["action"] == "replace" and change["outcome"] == "refused"
    assert change["reason"] == "replace refused" and change["physicalId"] == "subnet-1"
    assert change["diff"] == [
        {"path": "cidr", "before": "10.0.0.0/24", "after": "10.0.9.0/24", "immutable": True}
    ]


def test_unknown_values_are_stored_as_known_after_apply(store: Store) -> None:
    run_id = store.runs.begin("cli-plan", "plumb plan", ["acme-prod"], None, "")
    store.runs.record_change(run_id, _update(VPC, FieldChange("vpcId", None, UNKNOWN)), "planned")
    assert store.runs.get(run_id)["changes"][0]["diff"][0]["after"] == "(known after apply)"


SECRET_CASES = [
    pytest.param("masterUserPassword", "hunter2", True, id="password value is masked"),
    pytest.param("authToken", "tok-123", True, id="token value is masked"),
    pytest.param("environment.AZURE_OPENAI_API_KEY", "sk-live", True, id="api key env value"),
    pytest.param("apiKeySecret", "acme/prod/azure-openai-key", False, id="secret name kept"),
    pytest.param("secretArn", "arn:aws:secretsmanager:x", False, id="secret arn kept"),
    pytest.param("secrets.KEY", "arn:aws:secretsmanager:x", False, id="arn under secret key"),
    pytest.param("cidr", "10.0.0.0/16", False, id="ordinary fields untouched"),
]


@pytest.mark.parametrize(("path", "value", "masked"), SECRET_CASES)
def test_secret_looking_values_never_reach_changes(
    store: Store, path: str, value: str, masked: bool
) -> None:
    run_id = store.runs.begin("cli-apply", "plumb apply", ["acme-prod"], None, "")
    store.runs.record_change(run_id, _update(VPC, FieldChange(path, "", value)), "applied")
    stored = store.runs.get(run_id)["changes"][0]["diff"][0]["after"]
    assert stored == (SENSITIVE if masked else value)


def test_sensitive_fields_and_secret_observations_are_not_in_the_database(store: Store) -> None:
    run_id = store.runs.begin("cli-apply", "plumb apply", ["acme-prod"], None, "")
    field = FieldChange("authToken", "old-s3cret", "new-s3cret", sensitive=True)
    store.runs.record_change(run_id, _update(VPC, field), "applied")
    store.resources.upsert(
        "acme-prod",
        VPC,
        "Vpc",
        "vpc-1",
        observed_spec={
            "masterPassword": "db-s3cret",
            "secrets": {"KEY": "acme/prod/key"},
            "cidr": "10.0.0.0/16",
        },
    )
    with store.engine.connect() as conn:
        dumped = str(conn.execute(select(Change.diff)).all())
        dumped += str(conn.execute(select(ResourceRow.last_observed)).all())
    assert "s3cret" not in dumped
    observed = store.resources.rows()[0]["lastObserved"]
    assert observed == {
        "masterPassword": SENSITIVE,
        "secrets": {"KEY": "acme/prod/key"},
        "cidr": "10.0.0.0/16",
    }


# -- resources and the create journal -----------------------------------------------------


def test_pending_create_is_journaled_until_created(store: Store) -> None:
    run_id = store.runs.begin("cli-apply", "plumb apply", ["acme-prod"], None, "")
    store.journal.mark_pending(run_id, "acme-prod", VPC, "Vpc", "acme-prod-vpc")
    assert store.journal.pending("acme-prod") == {VPC: "acme-prod-vpc"}
    assert store.journal.pending("acme-staging") == {}
    observed = Observed(
        "Vpc",
        VPC,
        "vpc-9",
        {"cidr": "10.0.0.0/16"},
        attrs={"id": "vpc-9", "arn": "arn:aws:ec2:vpc/vpc-9"},
        tags={"plumb:stack": "acme-prod"},
    )
    store.journal.mark_created(run_id, observed, desired_hash="d1")
    assert store.journal.pending("acme-prod") == {}
    (row,) = store.resources.rows("acme-prod")
    assert row["status"] == "in-sync" and row["physicalId"] == "vpc-9"
    assert row["arn"] == "arn:aws:ec2:vpc/vpc-9" and row["lastRunId"] == run_id
    assert row["lastObserved"] == {"cidr": "10.0.0.0/16"} and row["desiredHash"] == "d1"


def test_pending_create_survives_a_crash(store: Store, open_store: Callable[[], Store]) -> None:
    run_id = store.runs.begin("cli-apply", "plumb apply", ["acme-prod"], None, "")
    store.journal.mark_pending(run_id, "acme-prod", VPC, "Vpc", "acme-prod-vpc")
    store.close()  # the process dies between the journal and the AWS call
    assert open_store().journal.pending("acme-prod") == {VPC: "acme-prod-vpc"}


def test_created_but_not_ready_is_creating(store: Store) -> None:
    observed = Observed("DocDbCluster", "acme-prod/db/cluster", "db-1", {}, ready=False)
    store.journal.mark_created(store.runs.begin("sync", "", ["acme-prod"], None, ""), observed)
    assert store.resources.rows()[0]["status"] == "creating"


def test_upsert_then_delete_keeps_the_record(store: Store) -> None:
    store.resources.upsert("acme-prod", VPC, "Vpc", "vpc-1", "arn:vpc", "drifted", "h1", {"a": 1})
    store.resources.upsert("acme-prod", VPC, "Vpc", "vpc-1", "arn:vpc", "unknown")
    assert store.resources.rows()[0]["lastObserved"] == {"a": 1}  # a failed read keeps what we knew
    store.resources.mark_deleted("acme-prod", VPC, None)
    (row,) = store.resources.rows()
    assert row["status"] == "deleted" and row["lastObserved"] is None
    assert store.resources.rows("acme-staging") == []


def test_upsert_refuses_an_unknown_status(store: Store) -> None:
    with pytest.raises(ValueError, match="resource status"):
        store.resources.upsert("acme-prod", VPC, "Vpc", status="fine")


# -- drift streaks ------------------------------------------------------------------------

DRIFT_CASES = [
    pytest.param([(["a"], True)], 0, "in-sync", id="first drift repaired starts at zero"),
    pytest.param([(["a"], True), (["a"], True)], 1, "in-sync", id="same drift after repair"),
    pytest.param(
        [(["a"], True)] * (NON_CONVERGING_AFTER + 1),
        NON_CONVERGING_AFTER,
        "non-converging",
        id="reverting after every repair is non-converging",
    ),
    pytest.param([(["a"], True), (["b"], True)], 0, "in-sync", id="other fields start over"),
    pytest.param([(["a"], True), ([], False)], 0, "in-sync", id="clean observation resets"),
    pytest.param([(["a"], False), (["a"], False)], 0, "drifted", id="unrepaired is no revert"),
    pytest.param(
        [(["a"], True), (["a"], False), (["a"], True)], 1, "in-sync", id="backing off keeps count"
    ),
    pytest.param([(["a", "b"], True), (["b", "a"], True)], 1, "in-sync", id="order is ignored"),
]


@pytest.mark.parametrize(("runs", "streak", "status"), DRIFT_CASES)
def test_drift_streak(
    store: Store, runs: list[tuple[list[str], bool]], streak: int, status: str
) -> None:
    store.resources.upsert("acme-prod", VPC, "Vpc", "vpc-1")
    for fields, repaired in runs:
        store.drift.record("acme-prod", VPC, fields, repaired)
    assert store.drift.streak("acme-prod", VPC)[0] == streak
    assert store.resources.rows()[0]["status"] == status


def test_clean_observation_ends_non_converging(store: Store) -> None:
    for _ in range(NON_CONVERGING_AFTER + 1):
        store.drift.record("acme-prod", VPC, ["desiredCount"], repaired=True)
    assert store.resources.rows()[0]["status"] == "non-converging"
    store.drift.record("acme-prod", VPC, [], repaired=False)
    assert store.resources.rows()[0]["status"] == "in-sync"
    assert store.drift.streak("acme-prod", VPC) == (0, [])


def test_drift_streak_names_the_fields(store: Store) -> None:
    assert store.drift.streak("acme-prod", VPC) == (0, [])
    store.drift.record("acme-prod", VPC, ["tags", "enableDnsHostnames"], repaired=True)
    assert store.drift.record("acme-prod", VPC, ["enableDnsHostnames", "tags"], True) == 1
    assert store.drift.streak("acme-prod", VPC) == (1, ["enableDnsHostnames", "tags"])


# -- locks ----------------------------------------------------------------------------------


def test_lock_has_one_holder_until_released(store: Store) -> None:
    assert store.locks.acquire("acme-prod", "a", 60)
    assert not store.locks.acquire("acme-prod", "b", 60)
    assert store.locks.acquire("acme-staging", "b", 60)  # stacks are locked one by one
    assert store.locks.acquire("acme-prod", "a", 60)  # re-entry by the holder is a renewal
    assert not store.locks.release("acme-prod", "b")
    assert store.locks.release("acme-prod", "a")
    assert store.locks.acquire("acme-prod", "b", 60)


def test_lease_expires_so_a_dead_holder_never_blocks(store: Store, clock: Clock) -> None:
    assert store.locks.acquire("acme-prod", "dead", 30)
    clock.advance(29)
    assert not store.locks.acquire("acme-prod", "live", 30)
    assert store.locks.get("acme-prod")["expired"] is False
    clock.advance(2)
    assert store.locks.get("acme-prod")["expired"] is True
    assert store.locks.acquire("acme-prod", "live", 30)
    assert not store.locks.renew("acme-prod", "dead", 30)  # the old holder lost it
    assert store.locks.get("acme-prod")["holder"] == "live"


def test_renewal_extends_the_lease(store: Store, clock: Clock) -> None:
    assert store.locks.acquire("acme-prod", "a", 30)
    clock.advance(25)
    assert store.locks.renew("acme-prod", "a", 30)
    clock.advance(25)
    assert not store.locks.acquire("acme-prod", "b", 30)


def _race(stores: list[Store], stack: str) -> list[bool]:
    """Every replica asks for the stack at the same instant."""
    barrier = threading.Barrier(len(stores))

    def contend(i: int) -> bool:
        barrier.wait()
        return stores[i].locks.acquire(stack, f"replica-{i}", 60)

    with ThreadPoolExecutor(len(stores)) as pool:
        return list(pool.map(contend, range(len(stores))))


def test_racing_replicas_get_exactly_one_lock(open_store: Callable[[], Store]) -> None:
    stores = [open_store() for _ in range(4)]
    for round_ in range(5):
        wins = _race(stores, f"stack-{round_}")
        assert wins.count(True) == 1, wins


def test_racing_replicas_take_an_expired_lease_once(
    open_store: Callable[[], Store], clock: Clock
) -> None:
    stores = [open_store() for _ in range(4)]
    assert stores[0].locks.acquire("acme-prod", "dead", 10)
    clock.advance(11)
    wins = _race(stores, "acme-prod")
    assert wins.count(True) == 1, wins


# -- the hash chain under concurrency --------------------------------------------------------


def test_runs_finished_at_once_form_one_chain(open_store: Callable[[], Store]) -> None:
    stores = [open_store() for _ in range(3)]
    ids = [stores[i % 3].runs.begin("sync", "", [f"s{i}"], None, "") for i in range(12)]
    for i, run_id in enumerate(ids):
        stores[i % 3].runs.record_change(run_id, _update(f"s{i}/network/vpc"), "applied")
    barrier = threading.Barrier(6)

    def finish(i: int) -> str:
        if i < 6:
            barrier.wait()
        return stores[i % 3].chain.seal(ids[i], "succeeded")

    with ThreadPoolExecutor(6) as pool:
        hashes = list(pool.map(finish, range(len(ids))))
    result = verify(stores[0])
    assert result.ok, result.problems
    assert result.runs_checked == 12 and len(set(hashes)) == 12
    assert sorted(r["seq"] for r in stores[0].chain.sealed()) == list(range(1, 13))


def test_changes_recorded_from_an_apply_pool(store: Store) -> None:
    run_id = store.runs.begin("cli-apply", "plumb apply", ["acme-prod"], None, "")
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: store.runs.record_change(run_id, _update(f"acme-prod/x/{i}"), "applied"),
                range(40),
            )
        )
    store.chain.seal(run_id, "succeeded")
    assert store.runs.get(run_id)["counts"]["update"] == 40


# -- SQLite specifics ---------------------------------------------------------------------


def test_sqlite_default_url_creates_its_folder_and_uses_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store(DEFAULT_URL)
    try:
        assert (tmp_path / ".plumb" / "state.db").exists()
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        store.close()


def test_in_memory_sqlite_works_across_threads() -> None:
    store = Store("sqlite://")
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda _: store.runs.begin("demo", "", ["s"], None, ""), range(8)))
    assert sorted(ids) == list(range(1, 9))
    assert store.runs.get(ids[0])["startedAt"].endswith("+00:00")


def test_plumb_processes_starting_together_on_a_new_sqlite_state_all_start(
    tmp_path: Path,
) -> None:
    # A deferred transaction that read the schema could not upgrade to write while another
    # process created the tables: about one start in sixteen died "database is locked".
    code = "import sys; from controller.state.store import Store; Store(sys.argv[1]).close()"
    for round_ in range(8):
        url = f"sqlite:///{tmp_path}/{round_}/state.db"
        starts = [
            subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        errors = [p.communicate(timeout=60)[1] for p in starts]
        assert [p.returncode for p in starts] == [0] * 4, errors


def test_a_fetch_failure_is_news_again_once_another_commit_was_accepted(store: Store) -> None:
    def run(sha: str, outcome: str, errors: tuple[str, ...] = ()) -> int:
        run_id = store.runs.begin("schedule", "sync", [], {"sha": sha}, "repo#main")
        store.chain.seal(run_id, outcome, errors=errors)
        return run_id

    run("a" * 40, "succeeded")
    assert store.source.refused_already("repo#main", "", ["git fetch failed"]) is None
    refusal = run("", "rejected", ("git fetch failed",))
    run("a" * 40, "no-changes")  # the commit in force, converged while git is away
    assert store.source.refused_already("repo#main", "", ["git fetch failed"]) == refusal
    assert store.source.refused_already("repo#main", "", ["another error"]) is None
    run("b" * 40, "succeeded")  # git came back with a new commit
    assert store.source.refused_already("repo#main", "", ["git fetch failed"]) is None
    assert store.source.commit_in_force("repo#main")["commit"]["sha"] == "b" * 40
    bad = run("c" * 40, "rejected", ("invalid",))
    assert store.source.refused_already("repo#main", "c" * 40, ["anything"]) == bad
    assert store.source.commit_in_force("repo#main")["commit"]["sha"] == "b" * 40
