"""`plumb audit verify`: the hash chain shows offline that no run was altered or removed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest
from sqlalchemy import delete, update

from controller.audit.verify import canonical, chain_hash, verify
from controller.model import Action, ActionType, FieldChange
from controller.reports.run_report import render
from controller.state.models import GENESIS_HASH, Change, Run
from controller.state.store import Store


def _history(store: Store, n: int = 4) -> list[int]:
    ids = []
    for i in range(n):
        run_id = store.runs.begin("sync", "plumb sync", ["acme-prod"], {"sha": f"c{i}"}, "git")
        action = Action(
            ActionType.UPDATE,
            "Vpc",
            "acme-prod/network/vpc",
            changes=(FieldChange("enableDnsHostnames", False, True),),
        )
        store.runs.record_change(run_id, action, "applied")
        store.chain.seal(run_id, "succeeded", api_calls={"total": i})
        ids.append(run_id)
    return ids


def _tamper(store: Store, statement: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(statement)  # type: ignore[call-overload]


def test_empty_store_verifies(store: Store) -> None:
    result = verify(store)
    assert result.ok and result.runs_checked == 0 and result.head == GENESIS_HASH


def test_untouched_history_verifies(store: Store) -> None:
    ids = _history(store)
    result = verify(store)
    assert result.ok, result.problems
    assert result.runs_checked == 4 and result.head == store.runs.get(ids[-1])["hash"]


def test_a_run_still_running_under_its_lease_is_not_a_problem(store: Store) -> None:
    _history(store, 2)
    run_id = store.runs.begin("apply", "apply", ["acme-prod"], None, "")
    assert store.locks.acquire("acme-prod", f"here:{os.getpid()}:{run_id}:abc", 60)
    _history(store, 1)
    result = verify(store)
    assert result.ok, result.problems
    assert f"run {run_id} is still running" in result.notes[0]


def test_a_crashed_run_outside_the_chain_is_a_problem(store: Store) -> None:
    _history(store, 2)
    run_id = store.runs.begin("apply", "apply", ["acme-prod"], None, "")
    action = Action(ActionType.CREATE, "Vpc", "acme-prod/network/vpc")
    store.runs.record_change(run_id, action, "applied")
    _history(store, 1)
    result = verify(store)
    assert not result.ok
    assert result.problems[0].startswith(f"run {run_id}: outside the chain")
    assert "it made 1 change(s) in AWS" in result.problems[0]


ALTERATIONS = [
    pytest.param(update(Run).where(Run.id == 2).values(outcome="failed"), id="outcome"),
    pytest.param(update(Run).where(Run.id == 2).values(commit_sha="evil"), id="commit sha"),
    pytest.param(update(Run).where(Run.id == 2).values(api_calls={"total": 0}), id="api calls"),
    pytest.param(
        update(Change).where(Change.run_id == 2).values(outcome="failed"), id="a change's outcome"
    ),
    pytest.param(update(Change).where(Change.run_id == 2).values(diff=[]), id="a change's diff"),
    pytest.param(delete(Change).where(Change.run_id == 2), id="a change removed"),
]


@pytest.mark.parametrize("statement", ALTERATIONS)
def test_altered_run_is_detected(store: Store, statement: object) -> None:
    _history(store)
    _tamper(store, statement)
    result = verify(store)
    assert not result.ok
    assert result.problems == ["run 2: hash mismatch, the run or its changes were altered"]


def test_removed_middle_run_is_detected(store: Store) -> None:
    _history(store)
    _tamper(store, delete(Change).where(Change.run_id == 2))
    _tamper(store, delete(Run).where(Run.id == 2))
    result = verify(store)
    assert not result.ok and result.runs_checked == 3
    text = "\n".join(result.problems)
    assert "run 3: 1 run(s) missing" in text
    assert "run 3: prev_hash does not match the hash of run 1" in text
    assert "run ids 2..2 missing" in text


def test_removed_first_run_is_detected(store: Store) -> None:
    _history(store)
    _tamper(store, delete(Change).where(Change.run_id == 1))
    _tamper(store, delete(Run).where(Run.id == 1))
    problems = "\n".join(verify(store).problems)
    assert "between it and the start of the chain" in problems


def test_rewritten_link_is_detected(store: Store) -> None:
    """Pointing run 3 at run 1 after deleting run 2 still breaks run 3's own hash."""
    ids = _history(store)
    first = store.runs.get(ids[0])["hash"]
    _tamper(store, delete(Change).where(Change.run_id == 2))
    _tamper(store, delete(Run).where(Run.id == 2))
    _tamper(store, update(Run).where(Run.id == 3).values(prev_hash=first, seq=2))
    _tamper(store, update(Run).where(Run.id == 4).values(seq=3))
    problems = verify(store).problems
    assert "run 3: hash mismatch, the run or its changes were altered" in problems


def test_cut_off_newest_run_needs_the_known_head(store: Store) -> None:
    ids = _history(store)
    head = store.runs.get(ids[-1])["hash"]
    _tamper(store, delete(Change).where(Change.run_id == ids[-1]))
    _tamper(store, delete(Run).where(Run.id == ids[-1]))
    assert verify(store).ok  # a chain alone cannot see its own tail cut off
    result = verify(store, head=head)
    assert not result.ok and "runs were removed from the end" in result.problems[0]


def test_finished_run_outside_the_chain_is_detected(store: Store) -> None:
    _history(store, 2)
    _tamper(store, update(Run).where(Run.id == 2).values(hash=None, seq=None))
    assert "run 2: finished at" in "\n".join(verify(store).problems)


def test_hash_can_be_recomputed_from_the_json_report(store: Store) -> None:
    ids = _history(store, 2)
    report = json.loads(render(store.runs.get(ids[1]), "json"))
    assert chain_hash(report["prevHash"], report) == report["hash"]
    assert "hash" not in json.loads(canonical(report))


def test_stores_sharing_a_database_verify_each_others_runs(
    open_store: Callable[[], Store],
) -> None:
    first, second = open_store(), open_store()
    _history(first, 2)
    _history(second, 2)
    result = verify(first)
    assert result.ok and result.runs_checked == 4
