"""Who acted: the command line's user, host and specs' worktree, kept with the run; a database
from before these were recorded gains the columns and keeps its chain."""

from __future__ import annotations

import subprocess
from pathlib import Path

from controller.audit import actor
from controller.audit.verify import verify
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
    run_id = store.runs.begin(
        "cli-apply", "apply", ["a"], actor={"user": "ada", "host": "desk", "worktree": {}}
    )
    drift = {"count": 1, "resources": [{"stack": "a", "logicalId": "x", "fields": ["f"]}]}
    store.chain.seal(run_id, "succeeded", actor={"account": "1" * 12, "arn": "arn:x"}, drift=drift)
    run = store.runs.get(run_id)
    assert run["actor"] == {
        "user": "ada",
        "host": "desk",
        "worktree": {},
        "account": "1" * 12,
        "arn": "arn:x",
    }
    assert run["drift"] == drift
    assert verify(store).ok
