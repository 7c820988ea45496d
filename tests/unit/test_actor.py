"""Who acted: the command line's user, host and specs' worktree, kept with the run; a database
from before these were recorded gains the columns and keeps its chain."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import text

from controller import actor
from controller.audit import verify
from controller.state.store import Store


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *args], check=True, capture_output=True, text=True
    ).stdout


def test_specs_in_a_git_checkout_name_its_commit_and_whether_they_differ(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text("a: 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "add", ".")
    _git(
        tmp_path,
        *("-c", "user.name=Ada", "-c", "user.email=ada@example.com"),
        *("commit", "-q", "-m", "First specs\n\nbody"),
    )
    sha = _git(tmp_path, "rev-parse", "HEAD").strip()

    commit, tree = actor.worktree(specs)
    assert commit["sha"] == sha and commit["author"] == "Ada <ada@example.com>"
    assert commit["message"] == "First specs" and commit["date"]
    assert tree == {"sha": sha, "dirty": False}

    (tmp_path / "elsewhere.txt").write_text("not the specs\n")
    assert actor.worktree(specs)[1]["dirty"] is False, "only the specs' own path counts"
    (specs / "a.yaml").write_text("a: 2\n")
    assert actor.worktree(specs)[1] == {"sha": sha, "dirty": True}
    assert actor.worktree(specs / "a.yaml")[1]["dirty"] is True


def test_specs_outside_git_have_no_commit(tmp_path: Path) -> None:
    assert actor.worktree(tmp_path) == ({}, {})
    assert actor.operator()["host"]


def test_a_run_keeps_who_acted_and_what_drifted(store: Store) -> None:
    run_id = store.begin_run(
        "cli-apply", "apply", ["a"], actor={"user": "ada", "host": "desk", "worktree": {}}
    )
    drift = {"count": 1, "resources": [{"stack": "a", "logicalId": "x", "fields": ["f"]}]}
    store.finish_run(run_id, "succeeded", actor={"account": "1" * 12, "arn": "arn:x"}, drift=drift)
    run = store.run(run_id)
    assert run["actor"] == {
        "user": "ada",
        "host": "desk",
        "worktree": {},
        "account": "1" * 12,
        "arn": "arn:x",
    }
    assert run["drift"] == drift
    assert verify(store).ok


def test_a_database_from_before_actors_gains_the_columns_and_keeps_its_chain(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    old = Store(url)
    run_id = old.begin_run("sync", "apply", ["a"], {"sha": "abc", "author": "Ada"})
    old.finish_run(run_id, "no-changes")
    with old.engine.begin() as conn:  # as a plumb of before the columns made it
        conn.execute(text("ALTER TABLE runs DROP COLUMN actor"))
        conn.execute(text("ALTER TABLE runs DROP COLUMN drift"))
    old.close()

    store = Store(url)
    assert verify(store).ok, "runs sealed without an actor keep their hashes"
    assert "actor" not in store.run(run_id) and "drift" not in store.run(run_id)
    new = store.begin_run("cli-apply", "apply", ["a"], actor={"user": "ada"})
    store.finish_run(new, "no-changes", drift={"count": 0, "resources": []})
    assert store.run(new)["actor"] == {"user": "ada"}
    assert store.run(new)["drift"] == {"count": 0, "resources": []}
    assert verify(store).ok
