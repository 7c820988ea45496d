"""The state tables (runs in a hash chain, resources, changes, stack locks), the dict shape their
rows take in reports and the hash, and the scrub that keeps secret values out.

Portable SQLAlchemy 2 models that run on SQLite and PostgreSQL alike: JSON columns use the
generic `JSON` type and every timestamp goes through `UtcDateTime`, so what is read back is
the same aware UTC datetime on both, which the hash chain relies on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from controller.chain import GENESIS_HASH  # noqa: F401 (re-exported)
from controller.model import Action
from controller.state import drift
from controller.state.drift import NON_CONVERGING_AFTER  # noqa: F401 (re-exported)
from controller.state.scrub import iso, plain, scrub, scrub_change

RUN_OUTCOMES = frozenset(
    {
        "succeeded",
        "failed",
        "partial",
        "progressing",
        "rejected",
        "no-changes",
        "planned",
        "declined",  # an apply whose plan the user was shown and said no to
        "in-sync",  # a drift check that found nothing
        "drifted",  # a drift check that found differences
        "interrupted",  # stopped before its end (killed); sealed by the run that took over
    }
)
REJECTED = "rejected"  # a commit refused: invalid, unsigned, or not fetched
RUNNING = "running"  # a run that has begun and not finished (or crashed before finishing)
RESOURCE_STATUSES = frozenset(
    {
        "in-sync",
        "drifted",
        "creating",
        "create-pending",
        "failed",
        "non-converging",
        "deleted",
        "orphan",
        "blocked",
        "unknown",
    }
)
CHANGE_OUTCOMES = frozenset(
    {
        "applied",
        "failed",
        "skipped",
        "planned",
        "refused",
        "unchanged",
        "pending",
        "orphan",
        "unknown",
    }
)
ACTION_KEYS = ("create", "update", "replace", "delete", "noop", "orphan", "blocked", "unknown")
COUNT_KEYS = (*ACTION_KEYS, "failed")  # a run's counts: actions by type, plus failures


def check_value(value: str, allowed: frozenset[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {sorted(allowed)}")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite keeps no zone, so values are stored as naive UTC there; its fixed-width text
    format still compares in time order, which the lease queries rely on.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Run(Base):
    """One plan, apply or sync cycle; finished runs are linked by `prev_hash` -> `hash`."""

    __tablename__ = "runs"
    # AUTOINCREMENT so SQLite never hands a removed run's id to the next run: a gap in ids
    # is evidence the audit looks for.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int | None] = mapped_column(unique=True)  # position in the hash chain
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    trigger: Mapped[str] = mapped_column(String(32))
    command: Mapped[str] = mapped_column(Text, default="")
    commit_sha: Mapped[str] = mapped_column(String(64), default="")
    commit_author: Mapped[str] = mapped_column(Text, default="")
    commit_message: Mapped[str] = mapped_column(Text, default="")
    commit_date: Mapped[str] = mapped_column(String(40), default="")
    signature_status: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str] = mapped_column(Text, default="")
    stacks: Mapped[list[Any]] = mapped_column(default=list)
    # ",acme-prod,acme-staging," so runs can be filtered by stack with a portable LIKE.
    stacks_key: Mapped[str] = mapped_column(Text, default=",")
    outcome: Mapped[str] = mapped_column(String(32), default=RUNNING)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    api_calls: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    waivers: Mapped[list[Any]] = mapped_column(default=list)  # controller/waivers.py records
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    seal: Mapped[str] = mapped_column(String(16), default="")  # controller/chain.py SEALS

    @classmethod
    def begin(
        cls,
        at: datetime,
        trigger: str,
        command: str,
        stacks: Iterable[str],
        commit: Mapping[str, Any],
        source: str,
    ) -> Run:
        names = sorted(set(stacks))
        return cls(
            started_at=at,
            trigger=trigger,
            command=command,
            source=source,
            outcome=RUNNING,
            commit_sha=str(commit.get("sha") or ""),
            commit_author=str(commit.get("author") or ""),
            commit_message=str(commit.get("message") or ""),
            commit_date=str(commit.get("date") or ""),
            signature_status=str(commit.get("signature") or commit.get("signature_status") or ""),
            stacks=names,
            stacks_key="," + "".join(f"{n}," for n in names),
        )


class ResourceRow(Base):
    """The last known state of one managed resource; AWS stays the source of truth."""

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("stack", "logical_id", name="uq_resources_stack_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stack: Mapped[str] = mapped_column(String(64), index=True)
    logical_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(64), default="")
    physical_id: Mapped[str] = mapped_column(Text, default="")
    arn: Mapped[str] = mapped_column(Text, default="")
    desired_hash: Mapped[str] = mapped_column(String(64), default="")
    last_observed: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="unknown")
    updated_at: Mapped[datetime]
    last_run_id: Mapped[int | None]
    # The physical name a create was about to use; set before the AWS call, cleared after.
    pending_name: Mapped[str | None] = mapped_column(Text)
    drift_streak: Mapped[int] = mapped_column(default=0)
    drift_fields: Mapped[list[Any]] = mapped_column(default=list)
    drift_repaired: Mapped[bool] = mapped_column(default=False)
    drift_since: Mapped[datetime | None]
    drift_seen: Mapped[list[Any]] = mapped_column(default=list)
    drift_retry_at: Mapped[datetime | None]

    def journal_create(self, kind: str, physical_name: str) -> None:
        self.kind, self.status, self.pending_name = kind, "create-pending", physical_name

    def record(
        self,
        kind: str,
        physical_id: str,
        arn: str,
        status: str,
        desired_hash: str,
        observed_spec: Mapping[str, Any] | None,
    ) -> None:
        """What a run saw; no observation (a failed read) keeps the last one."""
        self.kind, self.physical_id, self.arn, self.status = kind, physical_id, arn, status
        self.desired_hash = desired_hash or self.desired_hash
        if observed_spec is not None:
            self.last_observed = scrub(plain(observed_spec))
        if status != "create-pending":
            self.pending_name = None

    def forget(self) -> None:
        self.status, self.last_observed, self.pending_name = "deleted", None, None
        drift.record(self, [], False)

    def record_drift(
        self,
        fields: Iterable[str],
        repaired: bool,
        seen: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> int:
        """See Store.record_drift and state/drift.py."""
        return drift.record(self, fields, repaired, seen, now)


class Change(Base):
    """One action of a run, with its field-level diff and what became of it."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    stack: Mapped[str] = mapped_column(String(64))
    logical_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    physical_id: Mapped[str] = mapped_column(Text, default="")
    diff: Mapped[list[Any]] = mapped_column(default=list)
    waived: Mapped[list[Any]] = mapped_column(default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Lock(Base):
    """One writer per stack; the lease expires so a crashed holder never blocks for good."""

    __tablename__ = "locks"

    stack: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


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
        reason=action.reason,
        outcome=outcome,
        error=error,
        started_at=started_at,
        finished_at=finished_at,
    )


def waiver_records(waivers: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A run's waivers (controller/waivers.py) as stored, their drift scrubbed as changes are."""
    return [{**w, "drift": [scrub_change(dict(c)) for c in w.get("drift") or ()]} for w in waivers]


# -- rows as plain dicts: the shape of run(), resources() and the JSON report ---------------


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
