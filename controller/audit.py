"""The run hash chain: how a run is hashed, and the offline check that none was altered or removed.

`hash = sha256(prev_hash + canonical JSON of the run)`, where the run is the dict that
`Store.run()` returns (its changes included) less `hash` and `prevHash`, and canonical JSON
is `json.dumps(sort_keys=True, separators=(",", ":"))`. The first run links to 64 zeros.
Because the JSON report is that same dict, an auditor can recompute any run's hash from
its report alone.

What the chain proves: a run whose fields or changes were edited no longer matches its hash;
a removed run leaves a gap in chain positions and ids and breaks the next run's link. What
it cannot prove on its own: that the newest runs were not cut off the end. Pass the head
hash recorded elsewhere (the last pull-request comment, a log) as `head` to close that gap.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from controller.chain import GENESIS_HASH, canonical, chain_hash

if TYPE_CHECKING:
    from controller.state.store import Store

__all__ = ["canonical", "chain_hash", "verify"]


@dataclass
class AuditResult:
    ok: bool
    runs_checked: int
    problems: list[str] = field(default_factory=list)
    head: str = GENESIS_HASH  # the hash of the newest run in the chain


def verify(store: Store, head: str | None = None) -> AuditResult:
    """Recompute every run's hash in chain order and check the links between them."""
    problems: list[str] = []
    prev_hash, prev_seq, prev_id, checked = GENESIS_HASH, 0, None, 0
    for run in store.chain():
        checked += 1
        problems += _check_link(run, prev_hash, prev_seq, prev_id)
        if chain_hash(run["prevHash"] or "", run) != run["hash"]:
            problems.append(f"run {run['id']}: hash mismatch, the run or its changes were altered")
        # Go on from the stored hash so one edit is reported once, not for every later run.
        prev_hash, prev_seq, prev_id = run["hash"], run["seq"], run["id"]
    problems += _id_gaps(store.run_ids())
    problems += _unsealed(store)
    if head is not None and head != prev_hash:
        problems.append(
            f"chain head {prev_hash[:12]} is not the expected {head[:12]}:"
            " runs were removed from the end, or the expected head is from another store"
        )
    return AuditResult(ok=not problems, runs_checked=checked, problems=problems, head=prev_hash)


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
    return [
        f"run {run['id']}: finished at {run['finishedAt']} but not in the hash chain"
        for run in store.unsealed_runs()
        if run["finishedAt"] is not None
    ]
