"""The state's tables, brought to this plumb's by Alembic at start: the user runs no command.

The revisions are in versions/: the first release's tables, then one revision per change
since; runner.py runs them (its configuration built in code: no alembic.ini, no env.py), in
the caller's transaction, which Store holds under a lock (store.py), so processes starting
together on one database migrate it once. A start on a database already at HEAD reads its
alembic_version here and never imports Alembic (a tenth of a second a process).

A database reaches `runner.bring_to_head` in one of three states:
- new (no runs table): models.py's tables are made and stamped at the head, in one pass, so
  a new database holds exactly what models.py declares (tests/unit/test_migrations.py
  proves the revisions arrive at the same tables);
- made by a plumb before Alembic (tables, no alembic_version): it holds the first release's
  tables plus the columns that plumb added itself at start, so it is stamped at the first
  release and upgraded, each revision adding only the columns it lacks;
- stamped: upgraded from its revision. A revision this plumb does not know (a newer plumb
  migrated the database) is refused rather than written to.

A new column: declare it in models.py and add a revision (copy the newest one; its
`down_revision` is the newest's `revision`; HEAD below becomes its `revision`) that adds it
with `runner.add_missing` and a server default that reads as "not recorded", so the rows
already there keep their chain hashes. tests/unit/test_migrations.py fails until both are
done.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

FIRST_RELEASE = "0001"
HEAD = "0007"  # the newest revision in versions/


def at_head(conn: Connection) -> bool:
    """Whether the database is stamped at HEAD (Alembic's own table, read without it)."""
    if not inspect(conn).has_table("alembic_version"):
        return False
    return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()) == [HEAD]
