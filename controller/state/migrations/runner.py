"""Alembic run from plumb, on the caller's connection and transaction: the configuration
built here (no alembic.ini, no env.py) and the helpers the revisions use (see __init__.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from alembic import op
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext, RevisionStep
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, inspect

from controller.errors import PlumbError
from controller.state.migrations import FIRST_RELEASE
from controller.state.models import Base

# `alembic.op` is one proxy for the whole process: one migration runs at a time in it.
_op_proxy = threading.Lock()


def config() -> Config:
    """Alembic's configuration, without a file: the revisions are this package's."""
    found = Config()
    found.set_main_option("script_location", str(Path(__file__).parent))
    return found


@cache
def revisions() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    return revisions().get_current_head() or FIRST_RELEASE


def current(conn: Connection) -> tuple[str, ...]:
    """The revisions alembic_version holds: () for a new database or one made before Alembic."""
    return MigrationContext.configure(conn).get_current_heads()


def bring_to_head(conn: Connection) -> None:
    """Migrate the database `conn` is on to the head, in `conn`'s transaction."""
    context = MigrationContext.configure(conn)
    stamped = context.get_current_heads()
    if stamped == (head(),):
        return
    _refuse_unknown(stamped)
    if not stamped:
        if not inspect(conn).has_table("runs"):
            Base.metadata.create_all(conn)
            context.stamp(revisions(), "head")
            return
        context.stamp(revisions(), FIRST_RELEASE)
    upgrade(conn)


def upgrade(conn: Connection, to: str = "head") -> None:
    """Run the revisions from the database's (none on an empty one) up to `to`."""
    script = revisions()

    def steps(stamped: tuple[str, ...], _context: MigrationContext) -> Iterable[RevisionStep]:
        # What alembic's own `upgrade` command asks of the script directory.
        # Alembic's own passes the stamped heads, a tuple, though the annotation says str.
        return script._upgrade_revs(to, stamped)  # type: ignore[arg-type]

    context = MigrationContext.configure(conn, opts={"fn": steps})
    with _op_proxy, Operations.context(context):
        context.run_migrations()


def add_missing(table: str, *columns: Column[Any]) -> None:
    """Add each of `columns` that `table` lacks: a plumb before Alembic added columns itself
    at start, so a database it upgraded may hold some of a revision's already."""
    have = {found["name"] for found in inspect(op.get_bind()).get_columns(table)}
    for column in columns:
        if column.name not in have:
            op.add_column(table, column)


def never_down() -> None:
    """Every revision's downgrade: the runs' hashes cover these columns, and dropping one
    would break the chain of the runs that recorded it."""
    raise NotImplementedError("plumb's state is never migrated down")


def _refuse_unknown(stamped: tuple[str, ...]) -> None:
    known = {script.revision for script in revisions().walk_revisions()}
    unknown = [revision for revision in stamped if revision not in known]
    if unknown:
        raise PlumbError(
            f"the state database's tables are at revision {unknown[0]}, which this plumb does "
            f"not know (its newest is {head()}): a newer plumb migrated it; run that release "
            "or a newer one"
        )
