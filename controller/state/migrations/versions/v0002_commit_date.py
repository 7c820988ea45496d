"""Runs record their commit's date; '' on the runs before.

Revision ID: 0002
"""

from __future__ import annotations

from sqlalchemy import Column, String

from controller.state.migrations.runner import add_missing, never_down

revision = "0002"
down_revision = "0001"
downgrade = never_down


def upgrade() -> None:
    add_missing("runs", Column("commit_date", String(40), nullable=False, server_default=""))
