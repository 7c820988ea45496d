"""The state store: plumb's database opened, brought to this plumb's tables, and its stores
by table group, over any SQLAlchemy URL (SQLite or PostgreSQL).

    runs       the runs begun and their changes (run_rows.py)
    chain      sealing runs into the hash chain, reading it back (chain_rows.py)
    journal    creates begun and not yet seen done (journal.py)
    resources  what the runs saw of each resource (resource_rows.py)
    drift      drift that comes back after each repair (drift_rows.py)
    locks      the per-stack leases (lock_rows.py)
    source     what the runs say of a git source's commits (source_runs.py)
    periods    the runs of a period and their neighbours in the chain (period_runs.py)

They share one Database (database.py): its engine, clock and short transactions.
At start the tables are brought to this plumb's by Alembic (controller/state/migrations/).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from controller.errors import PlumbError
from controller.state import (
    WRITE_OPTION,
    in_memory,
    make_engine,
    missing_state,
    shown_url,
    state_error,
)
from controller.state.chain_rows import ChainRows
from controller.state.database import CHAIN_LOCK_KEY, Database
from controller.state.drift_rows import DriftRows
from controller.state.journal import CreateJournal
from controller.state.lock_rows import LockRows
from controller.state.migrations import at_head
from controller.state.period_runs import PeriodRuns
from controller.state.resource_rows import ResourceRows
from controller.state.run_rows import RunRows
from controller.state.source_runs import SourceRuns

DEFAULT_URL = "sqlite:///.plumb/state.db"


class Store:
    """plumb's state behind one SQLAlchemy engine; see the module docstring."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        clock: Callable[[], datetime] | None = None,
        audit_key: bytes | None = None,
        must_exist: bool = False,
    ):
        """`must_exist`: a command that only reads the state (history, report, locks,
        audit verify) refuses a database plumb never wrote rather than make an empty one
        and report on nothing: a mistyped path must not read as "no runs, chain intact"."""
        self.url = url
        if must_exist:
            missing_state(url)
        try:
            self.engine = make_engine(url)
            self.db = Database(self.engine, clock or (lambda: datetime.now(UTC)), in_memory(url))
            if must_exist and not inspect(self.engine).has_table("runs"):
                self.engine.dispose()
                raise PlumbError(
                    f"{shown_url(url)} holds no plumb state (no runs table): no plumb run has "
                    "used it; give the state your runs use with --state URL or PLUMB_STATE"
                )
            _migrate_with_retries(self.engine)
        except (ArgumentError, NoSuchModuleError, OperationalError, OSError) as err:
            raise state_error(url, err) from None
        except PlumbError:  # the state's tables are newer than this plumb (migrations/)
            self.engine.dispose()
            raise
        self.runs = RunRows(self.db)
        self.chain = ChainRows(self.db, audit_key or None)
        self.journal = CreateJournal(self.db)
        self.resources = ResourceRows(self.db)
        self.drift = DriftRows(self.db)
        self.locks = LockRows(self.db)
        self.source = SourceRuns(self.db)
        self.periods = PeriodRuns(self.db)

    def close(self) -> None:
        self.engine.dispose()

    def now(self) -> datetime:
        """The store's clock, which stamps its rows (a test's clock moves by hand)."""
        return self.db.now()


def _migrate_with_retries(engine: Engine) -> None:
    # Processes opening a new SQLite file at once race to make it WAL and its tables;
    # under load one in some hundreds is refused "database is locked" at once, without
    # its busy timeout. A few short, growing waits let it in; anything else fails now.
    for attempt in range(5):
        try:
            migrate(engine)
            return
        except OperationalError as err:
            if engine.dialect.name != "sqlite" or "locked" not in str(err) or attempt == 4:
                raise
            time.sleep(0.05 * 2**attempt)


def migrate(engine: Engine) -> None:
    """Bring the tables to this plumb's (see controller/state/migrations/)."""
    with engine.connect() as conn:
        if at_head(conn):  # every start but the first after an upgrade of plumb
            return
    # Alembic only when there is something to migrate: its import costs each process
    # about a tenth of a second.
    from controller.state.migrations.runner import bring_to_head

    # Processes (or replicas) starting together on a database to migrate must migrate it
    # once: the first takes the lock, the others wait for it and find the head stamped.
    # On SQLite a deferred transaction that reads the schema and then writes cannot wait
    # for the other writer (SQLite refuses the lock upgrade at once: "database is
    # locked"), so the transaction takes the write lock first and waits its busy timeout.
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        if engine.dialect.name != "sqlite":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY + 1})
        bring_to_head(conn)
