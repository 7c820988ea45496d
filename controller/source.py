"""The git source: fetch a branch, pin its commit, and say who made it.

plumb shells out to the `git` command line (the git client the team already trusts); a
checkout is kept per repository URL under the state folder and reset hard to the fetched
commit, so a run always sees exactly one commit.
"""

from __future__ import annotations

import hashlib
import subprocess
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
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=300
        )
    except FileNotFoundError as err:
        raise SourceError("git is not installed; plumb needs the git command line") from err
    except subprocess.CalledProcessError as err:
        raise SourceError(f"git {' '.join(args)} failed: {err.stderr.strip()}") from err
    return done.stdout


def fetch(repo: str, branch: str, workdir: Path) -> Commit:
    """Fetch `branch` of `repo` into a cached checkout and pin the commit it points at."""
    checkout = workdir / hashlib.sha256(repo.encode()).hexdigest()[:16]
    if not (checkout / ".git").is_dir():
        checkout.mkdir(parents=True, exist_ok=True)
        _git("init", "--quiet", str(checkout))
    _git(
        "fetch", "--quiet", "--depth", "1", "--no-tags", repo, f"refs/heads/{branch}", cwd=checkout
    )
    sha = _git("rev-parse", "FETCH_HEAD", cwd=checkout).strip()
    _git("checkout", "--quiet", "--force", "--detach", sha, cwd=checkout)
    _git("clean", "--quiet", "-fdx", cwd=checkout)
    fmt = "%an <%ae>%x00%s%x00%G?"
    author, message, sig = (
        _git("log", "-1", f"--format={fmt}", sha, cwd=checkout).rstrip("\n").split("\0")
    )
    return Commit(sha, author, message, SIGNATURE.get(sig, sig), checkout, repo, branch)
