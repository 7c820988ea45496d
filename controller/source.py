"""The git source: fetch a branch, pin its commit, and say who made it.

plumb shells out to the `git` command line (the git client the team already trusts). A
clone is kept per repository URL under the state folder and fetched into under a file lock;
each commit is then written out once into a folder of its own that nothing changes again, so
a run always sees exactly one commit, even while a replica beside it fetches the next.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from controller.errors import PlumbError

# git's %G? letters, spelled out for the report.
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


class SourceError(PlumbError):
    pass


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    message: str
    signature: str
    checkout: Path
    repo: str
    branch: str

    def to_json(self) -> dict[str, str]:
        return {
            "sha": self.sha,
            "author": self.author,
            "message": self.message,
            "signature": self.signature,
            "repo": self.repo,
            "branch": self.branch,
        }


def _git(*args: str, cwd: Path | None = None) -> str:
    return _git_bytes(*args, cwd=cwd).decode()


def _git_bytes(*args: str, cwd: Path | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=300)
    except FileNotFoundError as err:
        raise SourceError("git is not installed; plumb needs the git command line") from err
    except subprocess.CalledProcessError as err:
        stderr = err.stderr.decode(errors="replace").strip()
        raise SourceError(f"git {' '.join(args)} failed: {stderr}") from err
    return done.stdout


KEEP_COMMITS = 5  # per repository: the folders of older commits are removed


def fetch(repo: str, branch: str, workdir: Path) -> Commit:
    """Fetch `branch` of `repo` and write the commit it points at into a folder of its own."""
    key = hashlib.sha256(repo.encode()).hexdigest()[:16]
    clone = workdir / key
    workdir.mkdir(parents=True, exist_ok=True)
    with _exclusive(workdir / f"{key}.lock"):
        if not (clone / ".git").is_dir():
            clone.mkdir(parents=True, exist_ok=True)
            _git("init", "--quiet", str(clone))
        _git(
            "fetch", "--quiet", "--depth", "1", "--no-tags", repo, f"refs/heads/{branch}", cwd=clone
        )
        sha = _git("rev-parse", "FETCH_HEAD", cwd=clone).strip()
        fmt = "%an <%ae>%x00%s%x00%G?"
        author, message, sig = (
            _git("log", "-1", f"--format={fmt}", sha, cwd=clone).rstrip("\n").split("\0")
        )
        checkout = workdir / f"{key}-{sha[:12]}"
        if not checkout.is_dir():
            _write_out(clone, sha, checkout)
        _prune(workdir, key, keep=checkout)
    return Commit(sha, author, message, SIGNATURE.get(sig, sig), checkout, repo, branch)


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
