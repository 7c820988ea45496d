"""`plumb audit verify`: the offline check that no run was altered, removed, reordered or
cut off, that the database is not an older copy, and that every run is in the chain.

The arithmetic of a link is controller/chain.py's. What each check can prove:

- The links alone: a run whose fields or changes were edited no longer matches its hash; a
  removed run leaves a gap in chain positions and ids and breaks the next run's link. Anyone
  who can write the database can still recompute a plain sha256 chain after an edit.
- The audit key: a run sealed with it (HMAC-SHA256) cannot be recomputed without the key, so
  an edit shows even after the whole chain was recomputed. A plain run after a keyed one is
  a downgrade. Without the key a keyed run's link cannot be checked at all.
- The anchor (controller/audit/archive.py): the head as it was after each run, kept outside the
  database. A run that differs from its anchored line, positions anchored but missing from
  the end (cut off, or the database restored from an older copy), and sealed runs without
  an anchor line are all found against it.
- Runs outside the chain: a run never sealed that no live lease holds is a run whose plumb
  died; the AWS changes it made are in no link until a later run seals it `interrupted`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from controller.audit.anchor_file import compare_anchors
from controller.chain import GENESIS_HASH, KEYED, PLAIN, SEALS, canonical, chain_hash, same_hash
from controller.chain import seal_of as _seal_of
from controller.errors import PlumbError
from controller.state.unsealed import ABANDONED_HOURS, live_runs
from controller.words import counted

if TYPE_CHECKING:
    from rich.console import Console

    from controller.config import Settings
    from controller.state.store import Store

__all__ = ["canonical", "chain_hash", "verify"]


@dataclass
class AuditResult:
    ok: bool
    runs_checked: int
    problems: list[str] = field(default_factory=list)
    head: str = GENESIS_HASH  # the hash of the newest run in the chain
    notes: list[str] = field(default_factory=list)  # what was not checked, and why

    @property
    def first(self) -> str:
        """The first thing found wrong, in chain order: what an auditor looks at first."""
        return self.problems[0] if self.problems else ""


@dataclass
class _Walk:
    key: bytes | None
    without_key: bool
    problems: list[str] = field(default_factory=list)
    unkeyed: list[int] = field(default_factory=list)  # keyed runs checked without the key
    first_keyed: int | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)  # id, seq, hash of each


def verify(
    store: Store,
    head: str | None = None,
    *,
    key: bytes | None = None,
    anchors: list[dict[str, Any]] | None = None,
    without_key: bool = False,
) -> AuditResult:
    """Recompute every run's link in chain order; compare with the anchor lines if given."""
    walk = _Walk(key, without_key)
    prev_hash, prev_seq, prev_id = GENESIS_HASH, 0, None
    for run in store.chain.sealed():
        walk.problems += _check_link(run, prev_hash, prev_seq, prev_id)
        walk.problems += _check_seal(run, walk)
        walk.runs.append({"id": run["id"], "seq": run["seq"], "hash": run["hash"]})
        # Go on from the stored hash so one edit is reported once, not for every later run.
        prev_hash, prev_seq, prev_id = run["hash"], run["seq"], run["id"]
    problems, notes = walk.problems, list[str]()
    if walk.unkeyed:
        text = (
            f"{_runs(walk.unkeyed)} sealed with the audit key (HMAC-SHA256): cannot check "
            "without the key; give PLUMB_AUDIT_KEY or --audit-key-file"
        )
        (notes if without_key else problems).append(text)
    if key is not None and walk.first_keyed is None and walk.runs:
        notes.append("no run is sealed with the audit key: the chain is plain sha256 only")
    if anchors is not None:
        found, said = compare_anchors(walk.runs, anchors, store.runs.ids_issued())
        problems += found
        notes += said
    problems += _id_gaps(store.runs.ids())
    problems += _unsealed(store)
    notes += _running(store)
    if head is not None and head != prev_hash:
        problems.append(
            f"chain head {prev_hash[:12]} is not the expected {head[:12]}:"
            " runs were removed from the end, or the expected head is from another store"
        )
    return AuditResult(not problems, len(walk.runs), problems, prev_hash, notes)


def _check_seal(run: dict[str, Any], walk: _Walk) -> list[str]:
    seal = _seal_of(run)
    if seal not in SEALS:
        return [f"run {run['id']}: sealed by {seal!r}, which plumb never writes: edited"]
    problems = []
    if seal == PLAIN and walk.first_keyed is not None:
        problems.append(
            f"run {run['id']}: sealed plain sha256 after run {walk.first_keyed} was sealed with "
            "the audit key: the key was missing when it was sealed, or runs were recomputed "
            "without it after an edit"
        )
    if seal == KEYED and walk.first_keyed is None:
        walk.first_keyed = run["id"]
    if seal == KEYED and walk.key is None:
        walk.unkeyed.append(run["id"])
    elif not same_hash(
        chain_hash(run["prevHash"] or "", run, walk.key if seal == KEYED else None), run["hash"]
    ):
        what = "the run or its changes were altered"
        if seal == KEYED:
            what += " (or it was sealed with another key)"
        problems.append(f"run {run['id']}: hash mismatch, {what}")
    return problems


def _runs(ids: list[int]) -> str:
    if len(ids) == 1:
        return f"run {ids[0]} is"
    return f"{len(ids)} runs ({ids[0]} to {ids[-1]}) are"


def _check_link(
    run: dict[str, Any], prev_hash: str, prev_seq: int, prev_id: int | None
) -> list[str]:
    problems: list[str] = []
    after = f"run {prev_id}" if prev_id is not None else "the start of the chain"
    if run["seq"] != prev_seq + 1:
        missing = run["seq"] - prev_seq - 1
        problems.append(
            f"run {run['id']}: {missing} run(s) missing between it and {after}"
            f" (chain positions {prev_seq + 1}..{run['seq'] - 1} removed)"
            if missing > 0
            else f"run {run['id']}: chain position {run['seq']} out of order after {after}"
        )
    if run["prevHash"] != prev_hash:
        problems.append(
            f"run {run['id']}: prev_hash does not match the hash of {after}"
            " (a run was removed, inserted or reordered)"
        )
    return problems


def _id_gaps(ids: list[int]) -> list[str]:
    problems = []
    for before, after in itertools.pairwise(ids):
        if after != before + 1:
            problems.append(f"run ids {before + 1}..{after - 1} missing (runs removed)")
    return problems


def _unsealed(store: Store) -> list[str]:
    live = live_runs(store)
    problems = []
    for run in sorted(store.chain.unsealed(), key=lambda r: r["id"]):
        if run["finishedAt"] is not None:
            problems.append(
                f"run {run['id']}: finished at {run['finishedAt']} but not in the hash chain"
            )
        elif run["id"] not in live:
            problems.append(_outside(store, run))
    return problems


def _outside(store: Store, run: dict[str, Any]) -> str:
    changes = store.runs.get(run["id"]).get("changes", [])
    made = sum(1 for c in changes if c["outcome"] == "applied")
    failed = sum(1 for c in changes if c["outcome"] == "failed")
    stacks = ", ".join(run["stacks"]) or "no stack"
    text = (
        f"run {run['id']}: outside the chain: {run['command'] or 'a run'} of {stacks} began at "
        f"{run['startedAt']}, was never sealed, and no live lease holds it (its plumb was "
        f"killed); it made {made} change(s) in AWS"
    )
    if failed:
        text += f" and {failed} failed"
    return text + (
        "; the next run seals it as interrupted (on its own host at once, from another once"
        f" it is {ABANDONED_HOURS} h old), as does the next apply of its stacks"
    )


def _running(store: Store) -> list[str]:
    live = live_runs(store)
    return [
        f"run {run['id']} is still running ({live[run['id']]['who']}, lease "
        f"{live[run['id']]['secondsLeft']} s left): it joins the chain when it ends"
        for run in store.chain.unsealed()
        if run["id"] in live and run["finishedAt"] is None
    ]


def check(settings: Settings, without_key: bool = False) -> tuple[AuditResult, list[str], bool]:
    """Verify the state `settings` names against its anchor lines (file and bucket) and key:
    the result, the anchor lines that could not be read, and whether there was an anchor."""
    from controller.audit.archive import AnchorError, archive_for, read_file
    from controller.state.store import Store

    anchors: list[dict[str, Any]] | None = None
    unreadable: list[str] = []
    try:
        if settings.audit_anchor is not None:
            anchors, unreadable = read_file(settings.audit_anchor)
        archive = archive_for(settings)
        if archive is not None:
            lines, bad = archive.read()
            anchors, unreadable = [*(anchors or []), *lines], [*unreadable, *bad]
    except AnchorError as err:
        raise PlumbError(str(err)) from None
    result = verify(
        Store(settings.state_url, must_exist=True),
        key=settings.audit_key,
        anchors=anchors,
        without_key=without_key,
    )
    return result, unreadable, anchors is not None


def do_verify(settings: Settings, without_key: bool, console: Console) -> int:
    """The command: gather the anchor lines, verify, print what was found; 0 or 1."""
    result, unreadable, anchored = check(settings, without_key)
    problems = [*unreadable, *result.problems]
    for problem in problems:
        console.print(f"[red]{escape(problem)}[/red]")
    for note in result.notes:
        console.print(f"note: {escape(note)}")
    against = " against the anchor" if anchored else ""
    console.print(
        f"{counted(result.runs_checked, 'run')} checked{against}: "
        + ("chain intact" if not problems else f"CHAIN BROKEN; first: {escape(problems[0])}")
    )
    return 0 if not problems else 1
