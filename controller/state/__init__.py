"""plumb's state: tables in models.py, the stores by table group in store.py; here, how to
connect.

Any SQLAlchemy URL works; SQLite and PostgreSQL are the two that are tested. SQLite is tuned
for one process with many threads and a few processes beside it: WAL (readers never wait for
the writer), a 30 s busy timeout, and BEGIN emitted by SQLAlchemy rather than pysqlite, so
the store can start its writing transactions with BEGIN IMMEDIATE (see database.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from controller.errors import PlumbError

PASSWORD_PARAMETER = re.compile(r"([?&][^=&]*(?:password|passwd|pwd)=)[^&]*", re.IGNORECASE)
WRITE_OPTION = "plumb_write"  # execution option: start this transaction with BEGIN IMMEDIATE


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    memory = in_memory(url)
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if memory:
        options["poolclass"] = StaticPool  # one shared connection, or each sees its own DB
    else:
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **options)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin) instead of pysqlite's implicit one.
    dbapi_conn.isolation_level = None
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        dbapi_conn.execute(f"PRAGMA {pragma}")


def _sqlite_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get(WRITE_OPTION)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def shown_url(url: str) -> str:
    """The URL as messages show it: its password never, in the userinfo or the query
    (`?password=`, `&sslpassword=`: libpq reads both)."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        shown = url.split("@")[-1] if "@" in url else url
    return PASSWORD_PARAMETER.sub(r"\1***", shown)


def state_error(url: str, err: BaseException) -> PlumbError:
    """One line for a state database that cannot be opened, its password never shown."""
    shown = shown_url(url)
    if isinstance(err, ArgumentError | NoSuchModuleError):
        return PlumbError(
            f"--state {shown} is not a database URL plumb can open; give sqlite:///PATH "
            "or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
        )
    first = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
    return PlumbError(
        f"cannot open the state database {shown}: {first}; check the URL, that the server "
        "runs and accepts connections, and the credentials"
    )


def missing_state(url: str) -> None:
    """PlumbError when `url` names a SQLite file that does not exist (see Store must_exist).
    A server database is checked by opening it: its tables are made by the first run."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # Store names the bad URL
    if parsed.get_backend_name() != "sqlite" or in_memory(url):
        return
    path = Path(parsed.database or "")
    if not path.is_file():
        raise PlumbError(
            f"there is no state database at {path}: no plumb run has used it; give the state "
            "your runs use with --state URL or PLUMB_STATE"
        )
