"""Runs record their stacks' drift waivers; [] (none) on the runs before.

Revision ID: 0004
"""

from __future__ import annotations

from sqlalchemy import JSON, Column

from controller.state.migrations.runner import add_missing, never_down

revision = "0004"
down_revision = "0003"
downgrade = never_down


def upgrade() -> None:
    add_missing("runs", Column("waivers", JSON, nullable=False, server_default="[]"))
