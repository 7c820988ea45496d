"""One GitOps cycle: fetch the branch, pin its commit, validate, converge.

A head that cannot be used (not fetched, not signed by a key of the keyring, invalid
specs) is refused: recorded once as a `rejected` run with its errors, not again each
interval. The commit in force (the newest one accepted) then stays in force: the cycle goes
on converging from it, so drift is still repaired until a good commit arrives.
"""

from __future__ import annotations

import subprocess
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from controller.config import Settings
from controller.engine.desired import Desired, load_desired
from controller.engine.plan import PlanOptions
from controller.engine.runner import Runner
from controller.errors import PlumbError
from controller.loop.git_inputs import is_commit_id
from controller.loop.git_urls import public_url
from controller.loop.source import Commit, UnverifiedCommit, checkout, fetch, spec_folder
from controller.specs.bounds import error_lines

OK, ERROR = 0, 1
# The loop's own cycles, on its interval or asked for by a push: they plan as the loop does
# (a stack's selfHeal off is honoured, nothing is deleted), unlike a `plumb sync` by hand.
LOOP_TRIGGERS = ("schedule", "webhook")
# How a cycle's desired state is converged, each stack under its lease, and printed: the
# command line's (cli/verbs.py `converge_shared`), handed in, so the loop needs no CLI.
Converge = Callable[[Runner, Desired, PlanOptions, Console, str], int]
# What makes a commit unusable, so that it is refused (the cycle goes on with the commit in
# force): plumb's own refusals (not fetched, not signed, a bad ref, invalid specs) and what
# writing a commit out of git can meet (the disk, git's time-out, an archive refused, a
# name not UTF-8). Anything else is a bug: it ends the cycle rather than refusing the commit.
UNUSABLE = (PlumbError, OSError, subprocess.SubprocessError, tarfile.TarError, UnicodeError)


def do_sync(
    runner: Runner,
    settings: Settings,
    repo: str,
    branch: str,
    path: str,
    console: Console,
    *,
    converge: Converge,
    trigger: str = "sync",
    keyring: Path | None = None,
    asked_by: Mapping[str, Any] | None = None,
) -> int:
    """One cycle; `asked_by` joins the actor its runs record (the webhook deliveries)."""
    source = f"{public_url(repo)}#{branch}"  # recorded and printed: no credential in it
    workdir = settings.report_folder().parent / "checkouts"
    commit: Commit | None = None
    try:
        commit = fetch(repo, branch, workdir, keyring, path)
        _say(console, "commit", commit)
        desired = _desired(commit, path, source)
    except UNUSABLE as err:  # any reason to refuse the head: not fetched, unsigned, invalid
        if isinstance(err, UnverifiedCommit):
            commit = err.commit
        errors = error_lines(getattr(err, "issues", None) or [err])  # 100,000 or not: bounded
        _refuse(runner, console, trigger, source, commit, errors, asked_by)
        in_force = _in_force(runner, console, repo, branch, path, source, workdir)
        if in_force is None:
            return ERROR
        _converge(converge, runner, in_force, console, trigger, asked_by)
        return ERROR  # the head is refused: not a success, whatever the commit in force did
    return _converge(converge, runner, desired, console, trigger, asked_by)


def _converge(
    converge: Converge,
    runner: Runner,
    desired: Desired,
    console: Console,
    trigger: str,
    asked_by: Mapping[str, Any] | None,
) -> int:
    desired.actor = {**desired.actor, **(asked_by or {})}
    options = PlanOptions(scheduled=trigger in LOOP_TRIGGERS)
    return converge(runner, desired, options, console, trigger)


def _desired(commit: Commit, path: str, source: str) -> Desired:
    folder = spec_folder(commit, path)
    return load_desired(folder, commit=commit, source=source, shown_as=path)


def _say(console: Console, what: str, commit: Commit) -> None:
    console.print(
        f"{what} {commit.sha[:12]} by {escape(commit.author)} ({commit.date}): "
        f"{escape(commit.message)} (signature: {commit.signature})"
    )


def _refuse(
    runner: Runner,
    console: Console,
    trigger: str,
    source: str,
    commit: Commit | None,
    errors: list[str],
    asked_by: Mapping[str, Any] | None = None,
) -> None:
    sha = commit.sha if commit else ""
    before = runner.store.source.refused_already(source, sha, errors)
    what = f"commit {sha[:12]}" if sha else f"fetching {source}"
    if before is not None:
        console.print(
            f"[red]{what} was refused in run {before}[/red] and still is "
            f"(`plumb report {before}` says why)"
        )
        return
    details: dict[str, Any] = commit.to_json() if commit else {}
    run_id = runner.record_rejected(trigger, details, source, errors, asked_by)
    console.print(f"[bold red]{what} refused[/bold red] (run {run_id}):")
    for error in errors:
        console.print(f"  {escape(error)}")


def _in_force(
    runner: Runner,
    console: Console,
    repo: str,
    branch: str,
    path: str,
    source: str,
    workdir: Path,
) -> Desired | None:
    """The commit last accepted from this source, loaded again; None if there is none."""
    run = runner.store.source.commit_in_force(source)
    if run is None:
        console.print("no commit of this source was ever accepted: nothing to converge")
        return None
    sha = run["commit"]["sha"]
    if not is_commit_id(sha):  # a state row edited by someone: never handed to git
        console.print(
            f"[red]run {run['id']} records {escape(repr(sha)[:60])} as the commit in force, "
            "not a commit id:[/red] plumb does not hand it to git; `plumb audit verify` "
            "checks the state"
        )
        return None
    try:
        commit = checkout(repo, branch, sha, workdir, path)
        desired = _desired(commit, path, source)
    except UNUSABLE as err:  # a fetch failing, or specs an older plumb accepted
        console.print(f"[red]cannot load {sha[:12]}, the commit in force:[/red]")
        for line in error_lines(getattr(err, "issues", None) or [err]):  # bounded, as above
            console.print(f"  {escape(line)}")
        return None
    _say(console, "keeping in force commit", commit)
    return desired
