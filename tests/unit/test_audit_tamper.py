"""The state database tampered with in each way an administrator could, each caught by the
real `plumb audit verify`: the first bad run named and exit 1. Runs are sealed as a Runner
seals them (the Store, then the anchor), with no AWS."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, update

from controller.chain import chain_hash
from controller.cli.main import main
from controller.config import Settings
from controller.engine.runner import Runner
from controller.model import Action, ActionType, FieldChange
from controller.reports.anchors import Anchors
from controller.state.models import Change, Run

KEY = "correct horse battery staple"


class History:
    """A SQLite state, an anchor file beside it, and runs sealed with or without the key."""

    def __init__(self, folder: Path, key: str | None = KEY) -> None:
        self.db = folder / "state.db"
        self.url = f"sqlite:///{self.db}"
        self.anchor = folder / "anchor.jsonl"
        self.key = key
        settings = Settings(state_url=self.url, audit_key=key.encode() if key else None)
        settings.audit_anchor, settings.reports_dir = self.anchor, folder / "reports"
        self.anchors = Anchors(settings)
        self.runner = Runner(settings, observers=[self.anchors])
        self.store = self.runner.store

    def runs(self, n: int) -> list[int]:
        ids = []
        for i in range(n):
            run_id = self.store.runs.begin("sync", "apply", ["acme-prod"], {"sha": f"c{i}"}, "git")
            action = Action(
                ActionType.UPDATE,
                "Vpc",
                "acme-prod/network/vpc",
                changes=(FieldChange("enableDnsHostnames", False, True),),
            )
            self.store.runs.record_change(run_id, action, "applied")
            self.store.chain.seal(run_id, "succeeded", api_calls={"total": i})
            assert self.anchors.keep(self.store, run_id) == []
            ids.append(run_id)
        return ids

    def tamper(self, *statements: object) -> None:
        with self.store.engine.begin() as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[call-overload]

    def verify(self, *extra: str, key: bool = True, anchor: bool = True) -> Result:
        argv = ["--state", self.url, "audit", "verify", *extra]
        if anchor:
            argv += ["--audit-anchor", str(self.anchor)]
        env = {"PLUMB_AUDIT_KEY": self.key if key and self.key else ""}
        return CliRunner().invoke(main, argv, env=env)

    def recompute_plain(self, from_seq: int, seal: str | None = None) -> None:
        """What an administrator without the key can do after an edit: recompute every
        link from `from_seq` on with sha256 (relabelled `seal`, or labels kept)."""
        chain = list(self.store.chain.sealed())
        prev = chain[from_seq - 2]["hash"] if from_seq > 1 else "0" * 64
        for run in chain[from_seq - 1 :]:
            if seal is not None:
                run["seal"] = seal
            new = chain_hash(prev, run)
            values = {"prev_hash": prev, "hash": new}
            if seal is not None:
                values["seal"] = seal
            self.tamper(update(Run).where(Run.id == run["id"]).values(**values))
            prev = new


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path)


def _broken(result: Result, first: str) -> None:
    assert result.exit_code == 1, result.output
    assert "CHAIN BROKEN; first: " + first in " ".join(result.output.split()), result.output


def test_an_untouched_keyed_and_anchored_chain_verifies(history: History) -> None:
    history.runs(4)
    result = history.verify()
    assert result.exit_code == 0, result.output
    assert "4 runs checked against the anchor: chain intact" in result.output
    lines = [json.loads(x) for x in history.anchor.read_text().splitlines()]
    assert [x["seq"] for x in lines] == [1, 2, 3, 4]
    assert {x["seal"] for x in lines} == {"hmac-sha256"}
    assert KEY not in history.db.read_bytes().decode("latin-1")  # the key is never stored


def test_an_edited_field(history: History) -> None:
    history.runs(4)
    history.tamper(update(Run).where(Run.id == 2).values(outcome="failed"))
    _broken(history.verify(anchor=False), "run 2: hash mismatch")


def test_a_deleted_run(history: History) -> None:
    history.runs(4)
    history.tamper(delete(Change).where(Change.run_id == 2), delete(Run).where(Run.id == 2))
    result = history.verify()
    _broken(result, "run 3: 1 run(s) missing between it and run 1")
    assert "run 2 (chain position 2, anchored at" in result.output
    assert "is missing from the database: removed" in result.output


def test_two_runs_swapped(history: History) -> None:
    history.runs(4)
    history.tamper(
        update(Run).where(Run.id == 2).values(seq=-2),
        update(Run).where(Run.id == 3).values(seq=2),
        update(Run).where(Run.id == 2).values(seq=3),
    )
    result = history.verify()
    _broken(result, "run 3: prev_hash does not match the hash of run 1")
    assert "run 3 (chain position 2) is not the run anchored there" in result.output


def test_the_newest_runs_cut_off(history: History) -> None:
    history.runs(5)
    for run_id in (4, 5):
        history.tamper(delete(Change).where(Change.run_id == run_id))
        history.tamper(delete(Run).where(Run.id == run_id))
    assert history.verify(anchor=False).exit_code == 0  # the chain alone cannot see it
    _broken(
        history.verify(),
        "run 4 (chain position 4) and 1 later anchored run(s) were cut off the end",
    )


def test_an_older_copy_of_the_database_restored(history: History, tmp_path: Path) -> None:
    history.runs(3)
    history.store.close()
    shutil.copy(history.db, tmp_path / "old.db")
    history.runs(2)
    history.store.close()
    shutil.copy(tmp_path / "old.db", history.db)
    result = history.verify()
    _broken(result, "run 4 (chain position 4) and what follows are missing: the database was")
    assert "rolled back to an older copy" in result.output


def test_a_plain_chain_recomputed_after_an_edit_is_caught_by_the_anchor(tmp_path: Path) -> None:
    plain = History(tmp_path, key=None)
    plain.runs(4)
    plain.tamper(update(Run).where(Run.id == 2).values(commit_sha="evil"))
    plain.recompute_plain(2)
    assert plain.verify(anchor=False).exit_code == 0  # the links alone hold again
    _broken(plain.verify(), "run 2 (chain position 2) is not the run anchored there")


def test_a_keyed_chain_recomputed_plain_after_an_edit_is_caught_by_the_key(
    history: History,
) -> None:
    history.runs(4)
    history.tamper(update(Run).where(Run.id == 2).values(commit_sha="evil"))
    history.recompute_plain(2)  # the labels kept: sha256 where an HMAC should be
    _broken(history.verify(anchor=False), "run 2: hash mismatch")


def test_a_keyed_chain_relabelled_plain_after_an_edit_is_a_downgrade(history: History) -> None:
    history.runs(4)
    history.tamper(update(Run).where(Run.id == 2).values(commit_sha="evil"))
    history.recompute_plain(2, seal="sha256")
    _broken(
        history.verify(anchor=False),
        "run 2: sealed plain sha256 after run 1 was sealed with the audit key",
    )


def test_a_whole_chain_relabelled_plain_needs_the_anchor(history: History) -> None:
    history.runs(3)
    history.tamper(update(Run).where(Run.id == 2).values(commit_sha="evil"))
    history.recompute_plain(1, seal="sha256")
    result = history.verify(anchor=False)
    assert result.exit_code == 0 and "no run is sealed with the audit key" in result.output
    _broken(history.verify(), "run 1 (chain position 1) is not the run anchored there")


def test_keyed_runs_without_the_key(history: History) -> None:
    history.runs(2)
    result = history.verify(key=False)
    _broken(result, "2 runs (1 to 2) are sealed with the audit key (HMAC-SHA256): cannot check")
    assert history.verify("--without-key", key=False).exit_code == 0


def test_a_chain_may_start_plain_and_go_on_keyed(tmp_path: Path) -> None:
    History(tmp_path, key=None).runs(2)
    keyed = History(tmp_path)
    keyed.runs(2)
    seals = [r.get("seal") for r in keyed.store.chain.sealed()]
    assert seals == ["sha256"] * 2 + ["hmac-sha256"] * 2
    assert keyed.verify().exit_code == 0


def test_a_killed_run_left_running(history: History) -> None:
    history.runs(2)
    killed = history.store.runs.begin("cli-apply", "apply", ["acme-prod"], None, "")
    history.store.runs.record_change(
        killed, Action(ActionType.CREATE, "Vpc", "acme-prod/network/vpc"), "applied"
    )
    history.runs(1)
    _broken(history.verify(), f"run {killed}: outside the chain: apply of acme-prod")
    assert "made 1 change(s) in AWS" in history.verify().output
    # The same run under a live lease is at work, not lost.
    history.store.locks.acquire("acme-prod", f"here:{os.getpid()}:{killed}:n0nce", 60)
    result = history.verify()
    assert result.exit_code == 0 and f"run {killed} is still running" in result.output


def test_an_anchor_that_failed_loses_no_run_and_verify_notices(history: History) -> None:
    history.runs(2)
    history.anchors.anchoring.path = history.anchor.parent / "gone" / "anchor.jsonl"
    run_id = history.store.runs.begin("sync", "apply", ["acme-prod"], {}, "git")
    history.store.chain.seal(run_id, "succeeded")
    failures = history.anchors.keep(history.store, run_id)
    assert failures and "cannot append to the anchor file" in failures[0]
    assert history.store.runs.get(run_id)["hash"]  # sealed all the same
    _broken(history.verify(), "run 3 (chain position 3) was sealed after the anchor's newest")


def test_an_edited_anchor_line_is_reported(history: History) -> None:
    history.runs(2)
    history.anchor.write_text(history.anchor.read_text() + "not json\n")
    _broken(history.verify(), f"{history.anchor} 3: not an anchor line")


def test_a_missing_anchor_file_is_one_line(history: History) -> None:
    history.runs(1)
    history.anchor.unlink()
    result = history.verify()
    assert result.exit_code == 1
    assert "cannot read the anchor file" in result.output and "Traceback" not in result.output
