"""The one database every store of a group shares: its engine, its clock, and the short
transactions they all open.

Every call opens its own short session, so the apply thread pool can share the stores.
On SQLite every writing transaction starts with BEGIN IMMEDIATE: writers queue on the busy
timeout instead of failing when two of them read first and then write. On PostgreSQL the
hash chain is extended under a transaction-scoped advisory lock, so two replicas finishing
runs at once still link each run to the latest hash; the unique `seq` column backs that up.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from controller.state import WRITE_OPTION

CHAIN_LOCK_KEY = 0x706C756D62  # "plumb": the advisory lock that serializes the hash chain


class Database:
    """An engine, the clock that stamps its rows, and its transactions."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], shared: bool) -> None:
        """`shared`: the database is one connection (SQLite in memory), whose transactions
        must take turns."""
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.now = clock
        self._turns: contextlib.AbstractContextManager[object] = (
            threading.RLock() if shared else contextlib.nullcontext()
        )

    @contextlib.contextmanager
    def tx(self, write: bool = True, chain: bool = False) -> Iterator[Session]:
        """One transaction: `write` takes SQLite's write lock at its start, `chain` the
        hash chain's lock on PostgreSQL."""
        with self._turns, Session(self.engine, expire_on_commit=False) as s, s.begin():
            if write and self.sqlite:
                s.connection(execution_options={WRITE_OPTION: True})
            if chain and not self.sqlite:
                s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})
            yield s
