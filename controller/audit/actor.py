"""Who acted, for the run's record: the AWS identity, and for a command-line run the person.

A run from the loop acts for a pinned commit; a run from the command line acts for whoever
typed it, on specs that may be a git checkout with edits not yet committed. The report
names both, so an auditor never reads an empty commit and author for a change made by hand.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

_GIT_SECONDS = 10


def operator() -> dict[str, Any]:
    """The OS user, host and process of a command-line run (empty values left out when the
    OS cannot say). The process id lets a later run on this host seal this one as
    interrupted should the process be killed before it could (see Runner)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (containers) and no $USER
        user = ""
    found = {"user": user, "host": socket.gethostname(), "pid": os.getpid()}
    return {k: v for k, v in found.items() if v}


def worktree(specs: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(commit, worktree) of the git checkout holding `specs`; two empty dicts outside one.

    The commit has the loop's shape (sha, author, date, subject), so the report reads the
    same; the worktree says whether the specs differ from that commit (`dirty`)."""
    path = Path(specs)
    folder = path if path.is_dir() else path.parent
    head = _git(folder, "log", "-1", "--format=%H%x00%an <%ae>%x00%cI%x00%s")
    if head.count("\0") != 3:
        return {}, {}
    sha, author, date, subject = head.rstrip("\n").split("\0")
    status = _git(folder, "status", "--porcelain", "--", path.name if path != folder else ".")
    commit = {"sha": sha, "author": author, "date": date, "message": subject}
    return commit, {"sha": sha, "dirty": bool(status.strip())}


def _git(folder: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            timeout=_GIT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):  # no git, or a hung filesystem
        return ""
    return done.stdout.decode(errors="replace") if done.returncode == 0 else ""
