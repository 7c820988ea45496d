"""Runs record who acted and the drift they found; {} (not recorded) on the runs before.

Revision ID: 0006
"""

from __future__ import annotations

from sqlalchemy import JSON, Column

from controller.state.migrations.runner import add_missing, never_down

revision = "0006"
down_revision = "0005"
downgrade = never_down


def upgrade() -> None:
    add_missing(
        "runs",
        Column("actor", JSON, nullable=False, server_default="{}"),
        Column("drift", JSON, nullable=False, server_default="{}"),
    )
