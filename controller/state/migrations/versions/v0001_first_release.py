"""The first release's tables: runs, resources, changes and locks, before any column was
added to them (that plumb made them with create_all; see the package docstring).

Revision ID: 0001
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from controller.state.migrations.runner import never_down

revision = "0001"
down_revision = None
downgrade = never_down


def upgrade() -> None:
    _runs()
    _resources()
    _changes()
    op.create_table(
        "locks",
        Column("stack", String(64), primary_key=True),
        Column("holder", String(255), nullable=False),
        Column("acquired_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
    )


def _runs() -> None:
    op.create_table(
        "runs",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("seq", Integer, unique=True),
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True)),
        Column("trigger", String(32), nullable=False),
        Column("command", Text, nullable=False),
        Column("commit_sha", String(64), nullable=False),
        Column("commit_author", Text, nullable=False),
        Column("commit_message", Text, nullable=False),
        Column("signature_status", String(64), nullable=False),
        Column("source", Text, nullable=False),
        Column("stacks", JSON, nullable=False),
        Column("stacks_key", Text, nullable=False),
        Column("outcome", String(32), nullable=False),
        Column("counts", JSON, nullable=False),
        Column("api_calls", JSON, nullable=False),
        Column("timings", JSON, nullable=False),
        Column("errors", JSON, nullable=False),
        Column("warnings", JSON, nullable=False),
        Column("prev_hash", String(64)),
        Column("hash", String(64)),
        sqlite_autoincrement=True,
    )


def _resources() -> None:
    op.create_table(
        "resources",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("stack", String(64), nullable=False),
        Column("logical_id", String(255), nullable=False),
        Column("kind", String(64), nullable=False),
        Column("physical_id", Text, nullable=False),
        Column("arn", Text, nullable=False),
        Column("desired_hash", String(64), nullable=False),
        Column("last_observed", JSON),
        Column("status", String(32), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Column("last_run_id", Integer),
        Column("pending_name", Text),
        Column("drift_streak", Integer, nullable=False),
        Column("drift_fields", JSON, nullable=False),
        Column("drift_repaired", Boolean, nullable=False),
        UniqueConstraint("stack", "logical_id", name="uq_resources_stack_id"),
    )
    op.create_index("ix_resources_stack", "resources", ["stack"])


def _changes() -> None:
    op.create_table(
        "changes",
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", Integer, nullable=False),
        Column("stack", String(64), nullable=False),
        Column("logical_id", String(255), nullable=False),
        Column("kind", String(64), nullable=False),
        Column("action", String(16), nullable=False),
        Column("physical_id", Text, nullable=False),
        Column("diff", JSON, nullable=False),
        Column("waived", JSON, nullable=False),
        Column("reason", Text, nullable=False),
        Column("outcome", String(16), nullable=False),
        Column("error", Text, nullable=False),
        Column("started_at", DateTime(timezone=True)),
        Column("finished_at", DateTime(timezone=True)),
        ForeignKeyConstraint(["run_id"], ["runs.id"]),
    )
    op.create_index("ix_changes_run_id", "changes", ["run_id"])
