"""A run's rows as stored and as shown: changes and waivers scrubbed on the way in, and
the plain dicts `store.runs.get()`, `store.resources.rows()` and `store.locks.rows()`
return, which the JSON report is and the hash chain hashes.

A key added to a run's dict changes the hash of every run that has it, so a new field is
included only when recorded: runs sealed before plumb knew it keep their hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from controller.model import Action
from controller.state.models import (
    CHANGE_OUTCOMES,
    Change,
    Lock,
    ResourceRow,
    Run,
    check_value,
)
from controller.state.scrub import iso, scrub_change


def change_row(
    run_id: int,
    action: Action,
    outcome: str,
    error: str = "",
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> Change:
    """One action of a run as its change row, diffs scrubbed of anything secret."""
    check_value(outcome, CHANGE_OUTCOMES, "change outcome")
    return Change(
        run_id=run_id,
        stack=action.stack,
        logical_id=action.logical_id,
        kind=action.kind,
        action=action.type.value,
        physical_id=action.physical_id,
        diff=[scrub_change(c.to_json()) for c in action.changes],
        waived=[scrub_change(c.to_json()) for c in action.waived],
        reason=action.explanation(),
        outcome=outcome,
        error=error,
        started_at=started_at,
        finished_at=finished_at,
    )


def waiver_records(waivers: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A run's waivers (controller/engine/waivers.py) as stored, their drift scrubbed as
    changes are."""
    return [{**w, "drift": [scrub_change(dict(c)) for c in w.get("drift") or ()]} for w in waivers]


def run_dict(run: Run, changes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A run as reports show it and as the hash chain hashes it (changes included)."""
    out: dict[str, Any] = {
        "id": run.id,
        "seq": run.seq,
        "startedAt": iso(run.started_at),
        "finishedAt": iso(run.finished_at),
        "trigger": run.trigger,
        "command": run.command,
        "commit": {
            "sha": run.commit_sha,
            "author": run.commit_author,
            "message": run.commit_message,
            "signature": run.signature_status,
            # Only when known: runs sealed before plumb recorded dates keep their hashes.
            **({"date": run.commit_date} if run.commit_date else {}),
        },
        "source": run.source,
        "stacks": list(run.stacks),
        "outcome": run.outcome,
        "counts": dict(run.counts),
        "apiCalls": dict(run.api_calls),
        "timings": dict(run.timings),
        "errors": list(run.errors),
        "warnings": list(run.warnings),
        # Only when there are some: runs sealed before waivers were recorded keep their hashes.
        **({"waivers": list(run.waivers)} if run.waivers else {}),
        # Only when recorded, as above: older runs have neither.
        **({"actor": dict(run.actor)} if run.actor else {}),
        **({"drift": dict(run.drift)} if run.drift else {}),
        **({"exceptions": list(run.exceptions)} if run.exceptions else {}),
        # Only when recorded: runs sealed before plumb recorded it keep their (plain) hashes.
        **({"seal": run.seal} if run.seal else {}),
        "prevHash": run.prev_hash,
        "hash": run.hash,
    }
    if changes is not None:
        out["changes"] = changes
    return out


def change_dict(row: Change) -> dict[str, Any]:
    return {
        "stack": row.stack,
        "logicalId": row.logical_id,
        "kind": row.kind,
        "action": row.action,
        "physicalId": row.physical_id,
        "diff": list(row.diff),
        "waived": list(row.waived),
        "reason": row.reason,
        "outcome": row.outcome,
        "error": row.error,
        "startedAt": iso(row.started_at),
        "finishedAt": iso(row.finished_at),
    }


def lock_dict(row: Lock, now: datetime) -> dict[str, Any]:
    return {
        "stack": row.stack,
        "holder": row.holder,
        "acquiredAt": iso(row.acquired_at),
        "expiresAt": iso(row.expires_at),
        "expired": row.expires_at <= now,
        "secondsLeft": max(0, int((row.expires_at - now).total_seconds())),
    }


def resource_dict(row: ResourceRow) -> dict[str, Any]:
    return {
        "stack": row.stack,
        "logicalId": row.logical_id,
        "kind": row.kind,
        "physicalId": row.physical_id,
        "arn": row.arn,
        "desiredHash": row.desired_hash,
        "lastObserved": row.last_observed,
        "status": row.status,
        "updatedAt": iso(row.updated_at),
        "lastRunId": row.last_run_id,
        "pendingName": row.pending_name,
        "driftStreak": row.drift_streak,
        "driftFields": list(row.drift_fields or []),
        "driftSince": iso(row.drift_since),
        "driftSeen": list(row.drift_seen or []),
        "driftRetryAt": iso(row.drift_retry_at),
    }
