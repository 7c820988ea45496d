"""The drift waivers of a run: each with its owner, reason, expiry, days left and the drift it
held back, as the run records them; and the lines that name waivers expiring soon or expired.

The records are stored with the run (so every report shows them and the hash chain covers
them; the state scrubs their drift values as it does a change's) and worked out from the
plan's policies on the plan's date, so a report rendered later still says what held on the
day of the run. `plumb validate` uses this module too, so it imports nothing of the state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from controller.model import Action
from controller.specs.policy import StackPolicy, Waiver

if TYPE_CHECKING:
    from controller.engine.plan import Plan

SOON_DAYS = 14  # a waiver expiring within this many days of the run is flagged
EXPIRED, SOON, ACTIVE = "expired", "expires-soon", "active"


def status(waiver: Waiver, today: dt.date) -> str:
    if not waiver.active(today):
        return EXPIRED
    return SOON if (waiver.expires - today).days <= SOON_DAYS else ACTIVE


def records(
    policies: Mapping[str, StackPolicy], today: dt.date, actions: Sequence[Action] = ()
) -> list[dict[str, Any]]:
    """Every waiver of the stacks, sorted by stack, resource and field; `drift` lists the
    changes on its field in `actions`: held back while it holds, planned once it expired."""
    out = []
    for stack, policy in policies.items():
        mine = [a for a in actions if a.stack == stack]
        for waiver in policy.waivers:
            active = waiver.active(today)
            drift = [
                c.to_json()
                for a in mine
                for c in (a.waived if active else a.changes)
                if waiver.covers(a.name(), c)
            ]
            out.append(
                {
                    **waiver.to_json(),
                    "stack": stack,
                    "status": status(waiver, today),
                    "daysLeft": (waiver.expires - today).days,
                    "drift": drift,
                }
            )
    return sorted(out, key=lambda r: (r["stack"], r["resource"], r["field"], r["expires"]))


def in_run(plan: Plan) -> list[dict[str, Any]]:
    return records(plan.policies, plan.options.today, plan.actions)


def grouped(stored: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A run's waivers as the reports list them: those expiring soon first (soonest
    first), then the others in force, then the expired; each with a `note` to show."""
    rank = {SOON: 0, ACTIVE: 1, EXPIRED: 2}
    ordered = sorted(
        stored,
        key=lambda r: (
            rank.get(str(r.get("status")), 1),
            str(r.get("expires")) if r.get("status") == SOON else "",
            str(r.get("stack")),
            str(r.get("resource")),
            str(r.get("field")),
        ),
    )
    return [{**r, "note": note(r)} for r in ordered]


def note(record: Mapping[str, Any]) -> str:
    expires, left = record.get("expires"), int(record.get("daysLeft") or 0)
    if record.get("status") == EXPIRED:
        return f"expired on {expires}, drift on this field is repaired again"
    if left == 0:
        return f"expires {expires}, today is its last day"
    return f"expires {expires}, {left} day{'' if left == 1 else 's'} left"


def warning_lines(stored: Iterable[Mapping[str, Any]], expired_only: bool = False) -> list[str]:
    """One line per waiver expiring within SOON_DAYS or expired, soonest expiry first."""
    shown = [
        r for r in stored if r["status"] == EXPIRED or (r["status"] == SOON and not expired_only)
    ]
    shown.sort(key=lambda r: (r["expires"], r["stack"], r["resource"], r["field"]))
    lines = []
    for r in shown:
        head = f"waiver on {r['stack']} {r['resource']} {r['field']} (owner: {r['owner'] or '?'})"
        if r["status"] == EXPIRED:
            lines.append(f"{head} expired on {r['expires']}: it no longer holds drift back")
        else:
            lines.append(f"{head} expires {r['expires']}, {_in_days(int(r['daysLeft']))}")
    return lines


def _in_days(left: int) -> str:
    if left == 0:
        return "today"
    return f"in {left} day" if left == 1 else f"in {left} days"
