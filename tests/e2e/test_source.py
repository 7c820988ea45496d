"""The git source through the real CLI: a refused head is recorded once and the commit in
force keeps being converged; signatures are checked against a keyring of the user's."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.cli.demo import drift
from controller.state.store import Store
from tests.e2e.conftest import Cli, git_repo
from tests.e2e.test_endpoint import SPEC

PROD = "hook-e1"  # a network without NAT and a bucket: quick to build, the same behaviour
GIT = ["-c", "user.name=Ada", "-c", "user.email=ada@acme.example"]


def _repo(workdir: Path) -> Path:
    specs = workdir / "small"
    specs.mkdir()
    (specs / f"{PROD}.yaml").write_text(SPEC)
    return git_repo(workdir, specs)


def _commit(repo: Path, message: str, *extra: str, env: dict[str, str] | None = None) -> str:
    subprocess.run(
        ["git", "-C", str(repo), *GIT, "commit", "-qam", message, *extra], check=True, env=env
    )
    return _head(repo)


def _head(repo: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip()


def _edit(repo: Path, old: str, new: str) -> None:
    spec = repo / "specs" / f"{PROD}.yaml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))


def _runs(cli: Cli) -> list[dict[str, Any]]:
    store = Store(cli.env["PLUMB_STATE"])
    try:
        return list(reversed(store.runs.recent(limit=100)))
    finally:
        store.close()


def _expiry(aws: Any) -> int:
    rules = aws.s3.get_bucket_lifecycle_configuration(Bucket=f"{PROD}-storage")["Rules"]
    return int(rules[0]["Expiration"]["Days"])


def test_a_bad_head_is_refused_once_and_the_commit_in_force_keeps_converging(
    cli: Cli, aws: Any, workdir: Path
) -> None:
    repo = _repo(workdir)
    good = _head(repo)
    cli("run", "--once", "--repo", str(repo), check=0)

    _edit(repo, "cidr: 10.60.0.0/16", "cidr: 10.60.0.1/16")
    bad = _commit(repo, "prod: a typo in the VPC CIDR")
    drift.shorten_lifecycle(PROD, days=7)
    out = cli("run", "--once", "--repo", str(repo), check=1).stdout
    assert f"commit {bad[:12]} refused" in out and "spec.network.cidr" in out
    assert f"keeping in force commit {good[:12]}" in out
    assert _expiry(aws) == 30, "drift is repaired from the commit in force"

    cli("run", "--once", "--repo", str(repo), check=1)
    runs = _runs(cli)
    rejected = [r for r in runs if r["outcome"] == "rejected"]
    assert len(rejected) == 1, "a bad head is recorded once, not every interval"
    (refusal,) = rejected
    assert refusal["commit"]["sha"] == bad and refusal["commit"]["date"]
    assert any("spec.network.cidr" in e for e in refusal["errors"])
    after = [r for r in runs if r["id"] > refusal["id"]]
    assert len(after) == 2 and all(r["commit"]["sha"] == good for r in after)
    assert [r["outcome"] for r in after] == ["succeeded", "no-changes"]

    # The fix arrives with a new setting; then it is reverted, and the account follows.
    _edit(repo, "cidr: 10.60.0.1/16", "cidr: 10.60.0.0/16")
    _commit(repo, "prod: fix the CIDR")
    _edit(repo, "expireAfterDays: 30", "expireAfterDays: 60")
    fixed = _commit(repo, "prod: keep objects 60 days")
    cli("run", "--once", "--repo", str(repo), check=0)
    assert _expiry(aws) == 60 and _runs(cli)[-1]["commit"]["sha"] == fixed
    subprocess.run(
        ["git", "-C", str(repo), *GIT, "revert", "--no-edit", "HEAD"],
        check=True,
        capture_output=True,
    )
    cli("run", "--once", "--repo", str(repo), check=0)
    assert _expiry(aws) == 30 and _runs(cli)[-1]["commit"]["sha"] == _head(repo)


def test_a_source_that_cannot_be_fetched_is_refused_once(cli: Cli, aws: Any, workdir: Path) -> None:
    repo = _repo(workdir)
    cli("run", "--once", "--repo", str(repo), check=0)
    gone = workdir / "moved"
    repo.rename(gone)
    for _ in range(2):
        out = cli("run", "--once", "--repo", str(repo), check=1).stdout
    assert "refused" in out
    # The commit in force is still on disk: drift is still repaired while git is away.
    drift.shorten_lifecycle(PROD, days=7)
    cli("run", "--once", "--repo", str(repo), check=1)
    assert _expiry(aws) == 30
    rejected = [r for r in _runs(cli) if r["outcome"] == "rejected"]
    assert len(rejected) == 1 and rejected[0]["commit"]["sha"] == ""
    assert "git fetch" in rejected[0]["errors"][0]


# -- signatures -------------------------------------------------------------------------


def _gpg_home(name: str) -> dict[str, str]:
    # Short, under /tmp: gpg-agent's socket path must fit in 108 bytes.
    home = tempfile.mkdtemp(prefix=f"gpg-{name}-", dir="/tmp")
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--quiet",
            "--passphrase",
            "",
            "--quick-gen-key",
            f"{name} <{name}@acme.example>",
            "ed25519",
            "sign",
            "never",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    return env


@pytest.fixture
def signer(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A GnuPG key made for the test, and a keyring file holding its public half."""
    env = _gpg_home("release")
    keyring = tmp_path / "release.pub"
    exported = subprocess.run(
        ["gpg", "--batch", "--export"], env=env, capture_output=True, check=True
    )
    keyring.write_bytes(exported.stdout)
    yield env, keyring
    subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True)
    shutil.rmtree(env["GNUPGHOME"], ignore_errors=True)


def test_require_signed_applies_only_commits_signed_by_a_key_of_the_keyring(
    cli: Cli, aws: Any, workdir: Path, signer: tuple[dict[str, str], Path]
) -> None:
    env, keyring = signer
    repo = _repo(workdir)
    unsigned = _head(repo)
    out = cli("sync", "--repo", str(repo), "--require-signed", str(keyring), check=1).stdout
    assert f"commit {unsigned[:12]} is not signed by a key in {keyring}" in out
    assert "nothing to converge" in out
    assert aws.s3.list_buckets()["Buckets"] == [], "an unsigned commit changes nothing"

    _edit(repo, "expireAfterDays: 30", "expireAfterDays: 60")
    signed = _commit(repo, "prod: 60 days, signed", "-Srelease@acme.example", env=env)
    cli("sync", "--repo", str(repo), "--require-signed", str(keyring), check=0)
    assert _expiry(aws) == 60
    run = _runs(cli)[-1]
    assert run["commit"]["sha"] == signed and run["commit"]["signature"].startswith("good")

    # Signed, but by a key the keyring does not hold: refused, the signed commit stays.
    stranger = _gpg_home("stranger")
    _edit(repo, "expireAfterDays: 60", "expireAfterDays: 30")
    other = _commit(
        repo, "prod: 30 days, signed by someone else", "-Sstranger@acme.example", env=stranger
    )
    out = cli("sync", "--repo", str(repo), "--require-signed", str(keyring), check=1).stdout
    assert f"commit {other[:12]} is not signed" in out
    assert _expiry(aws) == 60
    subprocess.run(["gpgconf", "--kill", "all"], env=stranger, capture_output=True)
    shutil.rmtree(stranger["GNUPGHOME"], ignore_errors=True)


def test_require_signed_names_a_keyring_that_does_not_exist(cli: Cli, workdir: Path) -> None:
    done = cli("sync", "--repo", str(workdir), "--require-signed", "nope.pub", check=2)
    assert "nope.pub" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
