"""Runs record their stacks' guardrail exceptions; [] (none) on the runs before.

Revision ID: 0007
"""

from __future__ import annotations

from sqlalchemy import JSON, Column

from controller.state.migrations.runner import add_missing, never_down

revision = "0007"
down_revision = "0006"
downgrade = never_down


def upgrade() -> None:
    add_missing("runs", Column("exceptions", JSON, nullable=False, server_default="[]"))
