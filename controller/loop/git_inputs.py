"""What plumb lets reach git from a user or a state row: commit ids, branch names, --path.

Each is checked where it is read, before git sees it: a value git could take for one of its
options (`--upload-pack=COMMAND` runs COMMAND) is refused, never passed on.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from controller.errors import PlumbError
from controller.loop.git_urls import RepoUrl, parse

COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1, or SHA-256 repositories
# git check-ref-format's rules for a branch (man git-check-ref-format), as one pattern
BAD_BRANCH = re.compile(
    r"^-|^/|/$|//|\.\.|@\{|^@$|\.lock(/|$)|(^|/)\.|\.$|[\x00-\x20~^:?*\[\\\x7f]"
)


class GitInputError(PlumbError):
    pass


def is_commit_id(value: object) -> bool:
    return isinstance(value, str) and COMMIT_ID.fullmatch(value) is not None


def commit_id(value: object, where: str) -> str:
    """`value` if it is a full commit id; else GitInputError saying where it was read."""
    if not is_commit_id(value):
        shown = repr(value)[:60]
        raise GitInputError(
            f"{where} holds {shown}, not a commit id (40 or 64 hex digits): plumb does not "
            "hand it to git"
        )
    return str(value)


def branch_name(branch: str) -> str:
    if not branch or BAD_BRANCH.search(branch):
        raise GitInputError(
            f"--branch {branch!r} is not a branch name git accepts (git check-ref-format "
            "--branch); give one such as main or release/2026 (PLUMB_BRANCH)"
        )
    return branch


def spec_path(path: str) -> str:
    """--path, normalised: a relative path inside the repository ('.' for all of it)."""
    normal = posixpath.normpath(path) if path else ""
    if not normal or normal.startswith("/") or normal == ".." or normal.startswith("../"):
        raise GitInputError(
            f"--path {path!r} is not a folder inside the repository: give a relative path "
            "such as specs, without '..' leading out (PLUMB_PATH)"
        )
    return normal


def inside(checkout: Path, path: str) -> Path:
    """The folder `path` of a commit's checkout, refused if a symlink leads it out."""
    folder = (checkout / spec_path(path)).resolve()
    if not folder.is_relative_to(checkout.resolve()):
        raise GitInputError(f"--path {path!r} leads out of the commit (a symlink): refused")
    return folder


def source(repo: str, branch: str, path: str) -> RepoUrl:
    """The CLI's check of --repo, --branch and --path, before anything runs or is recorded."""
    url = parse(repo)
    branch_name(branch)
    spec_path(path)
    return url
