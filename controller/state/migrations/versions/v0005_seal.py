"""Runs record which algorithm sealed them (controller/chain.py SEALS); '' on the runs
before, which the first algorithm sealed.

Revision ID: 0005
"""

from __future__ import annotations

from sqlalchemy import Column, String

from controller.state.migrations.runner import add_missing, never_down

revision = "0005"
down_revision = "0004"
downgrade = never_down


def upgrade() -> None:
    add_missing("runs", Column("seal", String(16), nullable=False, server_default=""))
