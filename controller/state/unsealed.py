"""Runs left outside the chain by a plumb that is gone, found so the next run can seal them.

A run is sealed by the process that runs it. One killed first (SIGKILL, a host lost) leaves
its run open, and the AWS changes it made in no link. An apply's lease names its run, so
the apply that takes the stack over seals it (engine/cut_short.py). A plan holds no
lease (nor did an older plumb's apply preview: an apply now asks under its own lease). On
this host a dead pid shows at once that its plumb is gone; on another host nothing can be
asked, so a run open for longer than ABANDONED_AFTER that no live lease holds is taken as
gone. No run takes that long: an apply renews its
lease, and so does an apply waiting for its question to be answered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from controller.state.holder import Holder, process_alive

if TYPE_CHECKING:
    from controller.state.store import Store

ABANDONED_HOURS = 24
ABANDONED_AFTER = dt.timedelta(hours=ABANDONED_HOURS)


def live_runs(store: Store) -> dict[int, dict[str, Any]]:
    """Runs a lease still names and that has not expired: their plumb is at work."""
    live = {}
    for lock in store.locks.rows():
        holder = Holder.parse(str(lock["holder"]))
        if holder.run and not lock["expired"]:
            live[holder.run] = {**lock, "who": holder.describe()}
    return live


def gone(store: Store, by: int, host: str) -> list[tuple[int, str]]:
    """Open runs whose plumb is gone, each with why it is taken as gone; `by` is the run
    asking, never listed itself."""
    found: list[tuple[int, str]] = []
    live: dict[int, dict[str, Any]] | None = None
    for run in sorted(store.chain.unsealed(), key=lambda r: int(r["id"])):
        if run["id"] == by:
            continue
        actor = run.get("actor") or {}
        pid = int(actor.get("pid") or 0)
        if actor.get("host") == host and pid:
            if process_alive(pid):
                continue
            why = f"its process (pid {pid} on {host}) ended before the run did"
        else:
            if store.now() - dt.datetime.fromisoformat(run["startedAt"]) < ABANDONED_AFTER:
                continue
            live = live_runs(store) if live is None else live
            if run["id"] in live:
                continue
            where = f" on {actor['host']}" if actor.get("host") else ""
            why = (
                f"it began at {run['startedAt']}{where} and was still open {ABANDONED_HOURS} h "
                "later with no lease holding it, so its plumb is taken as gone"
            )
        found.append(
            (
                int(run["id"]),
                f"interrupted: {why}; run {by} sealed it. The changes it made are listed.",
            )
        )
    return found


def unnamed_applies(
    store: Store, unnamed: Mapping[str, tuple[str, str]], by: int
) -> dict[int, str]:
    """Applies begun under a lease their holder died with before naming them: an unsealed
    apply of the stack, begun since that lease was taken, is that run; `by` is the run
    asking, never listed itself."""
    if not unnamed:
        return {}
    found = {}
    for run in store.chain.unsealed():
        # An older plumb's apply preview (asked before its apply began) held no lease.
        if run["command"] != "apply" or run["id"] == by or run["trigger"].endswith("-preview"):
            continue
        for stack in run["stacks"]:
            who, since = unnamed.get(stack, ("", ""))
            started = dt.datetime.fromisoformat(run["startedAt"])
            if since and started >= dt.datetime.fromisoformat(since):
                found[int(run["id"])] = f"{who} held stack {stack} since {since}"
    return found
