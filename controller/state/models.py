"""The state tables: runs in a hash chain, resources, changes, stack locks (the dict shape
their rows take in reports and the hash is in run_view.py).

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
from controller.kinds.fields import rules_for
from controller.state import drift
from controller.state.drift import NON_CONVERGING_AFTER  # noqa: F401 (re-exported)
from controller.state.scrub import plain, scrub

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
    waivers: Mapped[list[Any]] = mapped_column(default=list)  # controller/engine/waivers.py records
    # The guardrail exceptions of the run's stacks (controller/specs/guardrails.py records).
    exceptions: Mapped[list[Any]] = mapped_column(default=list)
    # Who acted (AWS account and ARN; user, host and specs' worktree for a command-line
    # run) and the drift the run found: {} when not recorded (runs before these existed).
    actor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    drift: Mapped[dict[str, Any]] = mapped_column(default=dict)
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
        actor: Mapping[str, Any] | None = None,
    ) -> Run:
        names = sorted(set(stacks))
        return cls(
            actor=plain(dict(actor or {})),
            drift={},
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
            # Sensitive by the kind's schema, or by the look of the key (scrub.py).
            self.last_observed = scrub(plain(rules_for(kind).redact(observed_spec)))
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
        """See DriftRows.record (drift_rows.py) and state/drift.py."""
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
