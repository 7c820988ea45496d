"""The git source: fetch a branch, pin its commit, and say who made it.

plumb shells out to the `git` command line (the git client the team already trusts). A
clone is kept per repository URL under the state folder and fetched into under a file lock;
each commit is then written out once into a folder of its own that nothing changes again, so
a run always sees exactly one commit, even while a replica beside it fetches the next.

With a keyring (`--require-signed`), a commit's signature is checked against those keys
only, in a GnuPG home made for the check: the keys the machine's user trusts play no part.

Nothing read from a user or a state row reaches git where git could take it for an option
(git_inputs.py): each call ends its options with `--` or `--end-of-options`, and runs with
only the https, ssh and file transports allowed (git_credentials.py). Only the --path folder
of a commit is written out, and a credential in the repository URL is used, never recorded
(git_urls.py).
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
from controller.loop.git_credentials import (
    ASKPASS_TOKEN,
    TOKEN_ENV,
    fetch_environment,
    git_environment,
)
from controller.loop.git_inputs import branch_name, commit_id, inside, spec_path
from controller.loop.git_urls import RepoUrl, parse, public_url, scrubbed

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
            ["git", *args],
            cwd=cwd,
            check=True,
            capture_output=True,
            timeout=300,
            env=env or git_environment(),
        )
    except FileNotFoundError as err:
        raise SourceError("git is not installed; plumb needs the git command line") from err
    except subprocess.CalledProcessError as err:
        stderr = err.stderr.decode(errors="replace").strip()
        tokens = ((env or {}).get(ASKPASS_TOKEN, ""), os.environ.get(TOKEN_ENV, ""))
        message = scrubbed(f"git {' '.join(args)} failed: {stderr}", *tokens)
        raise SourceError(message) from None
    return done.stdout


KEEP_COMMITS = 5  # per repository: the folders of older commits are removed


def fetch(
    repo: str, branch: str, workdir: Path, keyring: Path | None = None, path: str = "."
) -> Commit:
    """Fetch `branch` of `repo` and write the commit's `path` into a folder of its own;
    with a keyring, a commit whose signature does not verify raises UnverifiedCommit."""
    return _pinned(repo, branch, f"refs/heads/{branch_name(branch)}", workdir, keyring, path)


def checkout(repo: str, branch: str, sha: str, workdir: Path, path: str = ".") -> Commit:
    """One commit by its sha: the one in force while the branch's head is refused. Its
    folder is reused when still there; otherwise the commit is fetched again."""
    return _pinned(repo, branch, commit_id(sha, "the commit in force"), workdir, None, path)


def spec_folder(commit: Commit, path: str) -> Path:
    """The commit's --path folder, refused if a symlink leads out of the commit."""
    return inside(commit.checkout, path)


def _pinned(
    repo: str, branch: str, ref: str, workdir: Path, keyring: Path | None, path: str
) -> Commit:
    url, path = parse(repo), spec_path(path)
    key = hashlib.sha256(url.address.encode()).hexdigest()[:16]
    clone = workdir / key
    workdir.mkdir(parents=True, exist_ok=True)
    with _exclusive(workdir / f"{key}.lock"):
        sha = _fetched(url, ref, clone, workdir)
        with _keys(keyring) as env:
            fmt = "%an <%ae>%x00%cI%x00%s%x00%G?"
            fields = _git(
                "log", "-1", f"--format={fmt}", "--end-of-options", sha, cwd=clone, env=env
            )
        author, date, message, sig = fields.rstrip("\n").split("\0")
        folder = hashlib.sha256(path.encode()).hexdigest()[:8]
        checkout = workdir / f"{key}-{sha[:12]}-{folder}"
        if not checkout.is_dir():
            _write_out(clone, sha, path, checkout)
        os.utime(checkout)  # the commit in use is the newest: pruning keeps it
        _prune(workdir, key, keep=checkout)
    shown = public_url(repo)
    commit = Commit(sha, author, message, SIGNATURE.get(sig, sig), checkout, shown, branch, date)
    if keyring is not None and sig not in VERIFIED:
        raise UnverifiedCommit(commit, keyring)
    return commit


def _fetched(url: RepoUrl, ref: str, clone: Path, workdir: Path) -> str:
    """The commit `ref` names, fetched into the clone unless it is there already."""
    if not (clone / ".git").is_dir():
        clone.mkdir(parents=True, exist_ok=True)
        _git("init", "--quiet", "--", str(clone))
    if _has_commit(clone, ref):
        return ref  # the commit in force, kept from before: no need of the remote
    with fetch_environment(url, workdir) as env:
        fetch = ("fetch", "--quiet", "--depth", "1", "--no-tags", "--", url.address, ref)
        _git(*fetch, cwd=clone, env=env)
    return commit_id(_git("rev-parse", "FETCH_HEAD", cwd=clone).strip(), "git's FETCH_HEAD")


def _has_commit(clone: Path, ref: str) -> bool:
    if ref.startswith("refs/"):
        return False  # a branch is always fetched: its head may have moved
    try:
        _git("cat-file", "-e", "--end-of-options", f"{ref}^{{commit}}", cwd=clone)
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
        env = {**git_environment(), "GNUPGHOME": home}
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


def _write_out(clone: Path, sha: str, path: str, target: Path) -> None:
    """The commit's `path`, unpacked beside the target and renamed into place whole; a
    `path` the commit does not hold is an empty folder (the specs' loader names it)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        if _has_path(clone, sha, path):
            archive = _git_bytes("archive", "--format=tar", sha, "--", path, cwd=clone)
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(staging, filter="data")
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # on any failure: nothing left behind


def _has_path(clone: Path, sha: str, path: str) -> bool:
    try:
        _git("cat-file", "-e", "--end-of-options", f"{sha}:{path}", cwd=clone)
    except SourceError:
        return path == "."
    return True


def _prune(workdir: Path, key: str, keep: Path) -> None:
    done = sorted(
        (p for p in workdir.glob(f"{key}-*") if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in done[KEEP_COMMITS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
