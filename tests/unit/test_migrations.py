"""The state's tables brought to this plumb's by Alembic (controller/state/migrations/), on
SQLite and PostgreSQL: a new database, the first release's, one an older plumb upgraded
itself (no alembic_version), one a newer plumb migrated, and processes starting together."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Connection, create_engine, inspect, text

from controller.audit.verify import verify
from controller.chain import chain_hash
from controller.cli.main import main
from controller.state import make_engine
from controller.state.migrations import FIRST_RELEASE, HEAD
from controller.state.migrations.runner import current, head, revisions, upgrade
from controller.state.models import Base
from controller.state.store import Store

ALL = [script.revision for script in reversed(list(revisions().walk_revisions()))]


def _differences(conn: Connection) -> list[Any]:
    """What autogenerate would write in a new revision: models.py against the database."""
    return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def _first_release_columns() -> dict[str, set[str]]:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        upgrade(conn, FIRST_RELEASE)
        found = inspect(conn)
        columns = {t: {c["name"] for c in found.get_columns(t)} for t in Base.metadata.tables}
    engine.dispose()
    return columns


def _as_before_alembic(state_url: str, revision: str) -> None:
    """The tables an older plumb left at `revision`'s: it added columns itself at start
    (the same DDL as the revisions'), and kept no alembic_version."""
    engine = make_engine(state_url)
    with engine.begin() as conn:
        upgrade(conn, revision)
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()


def test_the_revisions_arrive_at_the_tables_models_py_declares(state_url: str) -> None:
    assert ALL[0] == FIRST_RELEASE and ALL[-1] == head() == HEAD and len(set(ALL)) == len(ALL)
    engine = make_engine(state_url)
    try:
        with engine.begin() as conn:
            upgrade(conn)
            assert current(conn) == (head(),)
            assert _differences(conn) == []
    finally:
        engine.dispose()


def test_a_column_declared_without_its_revision_fails_the_comparison(state_url: str) -> None:
    engine = make_engine(state_url)
    try:
        with engine.begin() as conn:
            upgrade(conn, ALL[-2])  # the head's column declared in models.py, not migrated
            (difference,) = _differences(conn)
        operation, _schema, table, column = difference
        assert (operation, table, column.name) == ("add_column", "runs", "exceptions")
    finally:
        engine.dispose()


def test_a_new_database_is_made_from_models_py_and_stamped_at_the_head(state_url: str) -> None:
    store = Store(state_url)
    try:
        with store.engine.connect() as conn:
            assert current(conn) == (head(),) and _differences(conn) == []
            # Made by create_all, not by the revisions: no server default for old rows.
            (exceptions,) = [
                c for c in inspect(conn).get_columns("runs") if c["name"] == "exceptions"
            ]
            assert exceptions["default"] is None
        _finished = store.runs.begin("sync", "apply", ["a"])
        store.chain.seal(_finished, "succeeded")
        assert verify(store).ok
    finally:
        store.close()


def test_a_start_on_a_database_at_the_head_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    Store(url).close()
    code = (
        "import sys; from controller.state.store import Store; Store(sys.argv[1]).close(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    started = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True)
    assert started.returncode == 0 and started.stdout == "[]\n", started.stderr


@pytest.mark.parametrize("revision", ALL)
def test_a_database_an_older_plumb_upgraded_itself_is_stamped_and_upgraded(
    state_url: str, revision: str
) -> None:
    """Without alembic_version, whichever columns it already has: no "duplicate column"."""
    _as_before_alembic(state_url, revision)
    store = Store(state_url)
    try:
        with store.engine.connect() as conn:
            assert current(conn) == (head(),) and _differences(conn) == []
        run_id = store.runs.begin("sync", "apply", ["a"], actor={"user": "ada"})
        store.chain.seal(run_id, "succeeded", waivers=[{"stack": "a", "field": "tags"}])
        assert store.runs.get(run_id)["actor"] == {"user": "ada"} and verify(store).ok
    finally:
        store.close()


def test_a_database_from_the_first_release_gains_every_added_column(state_url: str) -> None:
    """Each column added since the first release is dropped, as a first-release plumb made
    the tables; the next plumb adds them back, the old chain still verifies, and new runs
    and resource rows record into them."""
    old = Store(state_url)
    first = old.runs.begin("sync", "apply", ["a"], {"sha": "abc", "author": "Ada"})
    old.resources.upsert("a", "a/bucket", "Bucket", "bkt", run_id=first)
    old.chain.seal(first, "succeeded")
    kept = _first_release_columns()
    tables = Base.metadata.sorted_tables
    added = [(t.name, c) for t in tables for c in sorted(set(t.c.keys()) - kept[t.name])]
    assert len(added) == 9, added
    with old.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        for table, column in added:
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    old.close()

    store = Store(state_url)
    try:
        (sealed,) = store.chain.sealed()  # its hash as the old plumb made it, without those fields
        with store.engine.begin() as conn:
            conn.execute(
                text("UPDATE runs SET hash = :h WHERE id = :i"),
                {"h": chain_hash(sealed["prevHash"] or "", sealed), "i": first},
            )
        assert verify(store).ok, "runs sealed before the columns existed keep their hashes"
        for absent in ("actor", "drift", "waivers", "seal"):
            assert absent not in store.runs.get(first), absent
        assert "date" not in store.runs.get(first)["commit"]
        _record_into_the_added_columns(store)
        assert verify(store).ok
    finally:
        store.close()


def _record_into_the_added_columns(store: Store) -> None:
    commit = {"sha": "def", "date": "2026-12-02T03:04:05Z"}
    run_id = store.runs.begin("sync", "apply", ["a"], commit, actor={"user": "ada"})
    streak = store.drift.record("a", "a/bucket", ["lifecycle"], True, {"lifecycle": 7})
    store.chain.seal(
        run_id,
        "succeeded",
        waivers=[{"stack": "a", "resource": "bucket", "field": "tags"}],
        drift={"count": 1, "resources": []},
    )
    run = store.runs.get(run_id)
    assert run["commit"]["date"] == "2026-12-02T03:04:05Z"
    assert run["actor"] == {"user": "ada"} and run["drift"]["count"] == 1
    assert run["waivers"][0]["field"] == "tags" and streak == 0
    (row,) = store.resources.rows("a")
    assert row["driftFields"] == ["lifecycle"]


def test_plumb_processes_starting_together_on_a_database_to_migrate_migrate_it_once(
    state_url: str,
) -> None:
    """SQLite: the first start's write lock; PostgreSQL (replicas): an advisory lock. The
    others wait, then find the head stamped, instead of adding the same column twice."""
    _as_before_alembic(state_url, FIRST_RELEASE)
    # Each process imports plumb, says so, and waits for the word: then all open at once.
    code = (
        "import sys; from controller.state.store import Store; print(flush=True); "
        "sys.stdin.readline(); Store(sys.argv[1]).close()"
    )
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", code, state_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for start in starts:
        assert start.stdout and start.stdout.readline() == "\n"
    for start in starts:
        assert start.stdin
        start.stdin.write("go\n")
        start.stdin.flush()
    errors = [p.communicate(timeout=60)[1] for p in starts]
    assert [p.returncode for p in starts] == [0] * 4, errors
    engine = make_engine(state_url)
    with engine.connect() as conn:
        assert current(conn) == (head(),) and _differences(conn) == []
    engine.dispose()


def test_a_database_a_newer_plumb_migrated_is_refused_in_one_line(state_url: str) -> None:
    Store(state_url).close()
    engine = make_engine(state_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    result = CliRunner().invoke(main, ["--state", state_url, "history"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "at revision 0999, which this plumb does not know" in result.output
    assert "run that release or a newer one" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
