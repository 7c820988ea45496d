"""Non-converging drift records since when, the values it keeps finding, and when to repair
again (the back-off); none on the rows before.

Revision ID: 0003
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime

from controller.state.migrations.runner import add_missing, never_down

revision = "0003"
down_revision = "0002"
downgrade = never_down


def upgrade() -> None:
    add_missing(
        "resources",
        Column("drift_since", DateTime(timezone=True), nullable=True),
        Column("drift_seen", JSON, nullable=False, server_default="[]"),
        Column("drift_retry_at", DateTime(timezone=True), nullable=True),
    )
