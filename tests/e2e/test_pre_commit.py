"""The pre-commit hook a specs repository adds: `pre-commit try-repo` builds plumb from this
checkout into its own virtualenv and runs `plumb validate` on a temporary repository.

Building that virtualenv installs plumb and its dependencies from the package index, so it
takes a minute; without an index it cannot be built, and the test says so and skips."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
TIMEOUT = 600  # seconds for the first run, which builds the hook's virtualenv
# What pip says when it cannot reach an index: pre-commit cannot build the hook offline.
OFFLINE = ("No matching distribution", "Could not find a version", "NewConnectionError")

pytestmark = pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
    )


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    # No .pyc compiling: botocore alone is thousands of files, and the hook runs once here.
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "PIP_NO_COMPILE": "1"}
    done = subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(ROOT), "plumb-validate", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    log = (home / "pre-commit.log").read_text() if (home / "pre-commit.log").exists() else ""
    if "An error has occurred" in done.stdout and any(s in done.stdout + log for s in OFFLINE):
        pytest.skip("pre-commit could not build the hook's virtualenv: no package index reachable")
    return done


def _tracked(path: str) -> bool:
    """try-repo copies this checkout's tracked files (uncommitted edits included) only."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--error-unmatch", path], capture_output=True
    )
    return done.returncode == 0


@pytest.mark.e2e
def test_the_hook_validates_changed_specs_and_names_the_broken_one(tmp_path: Path) -> None:
    if not _tracked(".pre-commit-hooks.yaml"):
        pytest.skip(".pre-commit-hooks.yaml is not tracked by git: try-repo would not see it")
    repo = tmp_path / "specs-repo"
    (repo / "specs").mkdir(parents=True)
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(SPECS / "acme-prod.yaml", repo / "specs" / "acme-prod.yaml")
    broken = (SPECS / "acme-staging.yaml").read_text().replace("natGateways: 1", "natGateways: x")
    assert broken != (SPECS / "acme-staging.yaml").read_text()
    (repo / "specs" / "acme-staging.yaml").write_text(broken)
    # YAML that is no spec: the hook's `files:` keeps it away from plumb validate
    (repo / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    home = tmp_path / "pre-commit-home"

    failed = _try_repo(repo, home)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "plumb validate" in failed.stdout and "Failed" in failed.stdout
    assert "specs/acme-staging.yaml:" in failed.stdout and "natGateways" in failed.stdout
    assert "ci.yml" not in failed.stdout

    (repo / "specs" / "acme-staging.yaml").write_text((SPECS / "acme-staging.yaml").read_text())
    _git(repo, "add", ".")
    passed = _try_repo(repo, home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "plumb validate" in passed.stdout and "Passed" in passed.stdout
