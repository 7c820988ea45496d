"""The git source: fetch a branch, pin its commit, and say who made it.

plumb shells out to the `git` command line (the git client the team already trusts). A
clone is kept per repository URL under the state folder and fetched into under a file lock;
each commit is then written out once into a folder of its own that nothing changes again, so
a run always sees exactly one commit, even while a replica beside it fetches the next.

With a keyring (`--require-signed`), a commit's signature is checked against those keys
only, in a GnuPG home made for the check: the keys the machine's user trusts play no part.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from controller.errors import PlumbError

# git's %G? letters, spelled out for the report. With a keyring given, "U" (good, but the
# key is not marked trusted in GnuPG's web of trust) is a pass: the keyring is the trust.
SIGNATURE = {
    "G": "good",
    "B": "bad",
    "U": "good, unknown validity",
    "X": "good, expired",
    "Y": "good, expired key",
    "R": "good, revoked key",
    "E": "cannot be checked",
    "N": "unsigned",
}
VERIFIED = {"G", "U"}


class SourceError(PlumbError):
    pass


class UnverifiedCommit(SourceError):
    """The commit was fetched but its signature does not verify against the keyring."""

    def __init__(self, commit: Commit, keyring: Path) -> None:
        super().__init__(
            f"commit {commit.sha[:12]} is not signed by a key in {keyring} "
            f"(signature: {commit.signature}); plumb --require-signed applies only signed commits"
        )
        self.commit = commit


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    message: str  # the subject line
    signature: str
    checkout: Path
    repo: str
    branch: str
    date: str = ""  # the committer's date, ISO 8601

    def to_json(self) -> dict[str, str]:
        return {
            "sha": self.sha,
            "author": self.author,
            "date": self.date,
            "message": self.message,
            "signature": self.signature,
            "repo": self.repo,
            "branch": self.branch,
        }


def _git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    return _git_bytes(*args, cwd=cwd, env=env).decode()


def _git_bytes(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, check=True, capture_output=True, timeout=300, env=env
        )
    except FileNotFoundError as err:
        raise SourceError("git is not installed; plumb needs the git command line") from err
    except subprocess.CalledProcessError as err:
        stderr = err.stderr.decode(errors="replace").strip()
        raise SourceError(f"git {' '.join(args)} failed: {stderr}") from err
    return done.stdout


KEEP_COMMITS = 5  # per repository: the folders of older commits are removed


def fetch(repo: str, branch: str, workdir: Path, keyring: Path | None = None) -> Commit:
    """Fetch `branch` of `repo` and write the commit it points at into a folder of its own;
    with a keyring, a commit whose signature does not verify raises UnverifiedCommit."""
    return _pinned(repo, branch, f"refs/heads/{branch}", workdir, keyring)


def checkout(repo: str, branch: str, sha: str, workdir: Path) -> Commit:
    """One commit by its sha: the one in force while the branch's head is refused. Its
    folder is reused when still there; otherwise the commit is fetched again."""
    return _pinned(repo, branch, sha, workdir, None)


def _pinned(repo: str, branch: str, ref: str, workdir: Path, keyring: Path | None) -> Commit:
    key = hashlib.sha256(repo.encode()).hexdigest()[:16]
    clone = workdir / key
    workdir.mkdir(parents=True, exist_ok=True)
    with _exclusive(workdir / f"{key}.lock"):
        if not (clone / ".git").is_dir():
            clone.mkdir(parents=True, exist_ok=True)
            _git("init", "--quiet", str(clone))
        if _has_commit(clone, ref):
            sha = ref  # the commit in force, kept from before: no need of the remote
        else:
            _git("fetch", "--quiet", "--depth", "1", "--no-tags", repo, ref, cwd=clone)
            sha = _git("rev-parse", "FETCH_HEAD", cwd=clone).strip()
        with _keys(keyring) as env:
            fmt = "%an <%ae>%x00%cI%x00%s%x00%G?"
            fields = _git("log", "-1", f"--format={fmt}", sha, cwd=clone, env=env)
        author, date, message, sig = fields.rstrip("\n").split("\0")
        checkout = workdir / f"{key}-{sha[:12]}"
        if not checkout.is_dir():
            _write_out(clone, sha, checkout)
        os.utime(checkout)  # the commit in use is the newest: pruning keeps it
        _prune(workdir, key, keep=checkout)
    commit = Commit(sha, author, message, SIGNATURE.get(sig, sig), checkout, repo, branch, date)
    if keyring is not None and sig not in VERIFIED:
        raise UnverifiedCommit(commit, keyring)
    return commit


def _has_commit(clone: Path, ref: str) -> bool:
    if ref.startswith("refs/"):
        return False  # a branch is always fetched: its head may have moved
    try:
        _git("cat-file", "-e", f"{ref}^{{commit}}", cwd=clone)
    except SourceError:
        return False
    return True


@contextlib.contextmanager
def _keys(keyring: Path | None) -> Iterator[dict[str, str] | None]:
    """An environment whose GnuPG home holds the keyring's keys and nothing else."""
    if keyring is None:
        yield None
        return
    home = tempfile.mkdtemp(prefix="plumb-gpg-")
    try:
        os.chmod(home, 0o700)
        env = {**os.environ, "GNUPGHOME": home}
        try:
            subprocess.run(
                ["gpg", "--batch", "--quiet", "--import", str(keyring)],
                env=env,
                check=True,
                capture_output=True,
                timeout=60,
            )
        except FileNotFoundError as err:
            raise SourceError("--require-signed needs gpg (GnuPG) installed") from err
        except subprocess.CalledProcessError as err:
            why = err.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no keys"]
            raise SourceError(f"cannot read the keyring {keyring}: {why[0]}") from None
        yield env
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One process at a time in the clone: git refuses a second fetch into it."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_out(clone: Path, sha: str, target: Path) -> None:
    """The commit's files, unpacked beside the target and renamed into place whole."""
    archive = _git_bytes("archive", "--format=tar", sha, cwd=clone)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(staging, filter="data")
    staging.rename(target)


def _prune(workdir: Path, key: str, keep: Path) -> None:
    done = sorted(
        (p for p in workdir.glob(f"{key}-*") if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in done[KEEP_COMMITS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
