"""The state store: run history and its hash chain, resource records, the create journal,
drift streaks and per-stack lease locks, over any SQLAlchemy URL (SQLite or PostgreSQL).

Every call opens its own short session, so the apply thread pool can share one Store.
On SQLite every writing transaction starts with BEGIN IMMEDIATE: writers queue on the busy
timeout instead of failing when two of them read first and then write. On PostgreSQL the
hash chain is extended under a transaction-scoped advisory lock, so two replicas finishing
runs at once still link each run to the latest hash; the unique `seq` column backs that up.
At start the tables are brought to this plumb's by Alembic (controller/state/migrations/).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import inspect, select, text
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from controller.errors import PlumbError
from controller.model import Action, Observed
from controller.state import (
    WRITE_OPTION,
    in_memory,
    make_engine,
    missing_state,
    shown_url,
    state_error,
)
from controller.state.chain_rows import ChainRows
from controller.state.drift import DriftRecord, as_record
from controller.state.lock_rows import LockRows
from controller.state.migrations import at_head
from controller.state.models import (
    RESOURCE_STATUSES,
    ResourceRow,
    Run,
    check_value,
)
from controller.state.period_runs import PeriodRuns
from controller.state.queries import changes_of, find_row, locked, open_run
from controller.state.run_view import (
    change_row,
    resource_dict,
    run_dict,
)
from controller.state.source_runs import SourceRuns

DEFAULT_URL = "sqlite:///.plumb/state.db"
_PG_LOCK_KEY = 0x706C756D62  # "plumb": the advisory lock that serializes the hash chain
T = TypeVar("T")
RowEdit = Callable[[ResourceRow], object]
# (action, outcome, error, started, finished): one change row as the ledger hands it over.
ChangeRecord = tuple[Action, str, str, datetime | None, datetime | None]


class Store(ChainRows, LockRows, SourceRuns, PeriodRuns):
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
        self.audit_key = audit_key or None
        if must_exist:
            missing_state(url)
        try:
            self.engine = make_engine(url)
            self._sqlite = self.engine.dialect.name == "sqlite"
            # An in-memory database is one shared connection: its transactions take turns.
            self._turns = threading.RLock() if in_memory(url) else contextlib.nullcontext()
            self._clock = clock or (lambda: datetime.now(UTC))
            if must_exist and not inspect(self.engine).has_table("runs"):
                self.engine.dispose()
                raise PlumbError(
                    f"{shown_url(url)} holds no plumb state (no runs table): no plumb run has "
                    "used it; give the state your runs use with --state URL or PLUMB_STATE"
                )
            self._migrate_with_retries()
        except (ArgumentError, NoSuchModuleError, OperationalError, OSError) as err:
            raise state_error(url, err) from None
        except PlumbError:  # the state's tables are newer than this plumb (migrations/)
            self.engine.dispose()
            raise

    def _migrate_with_retries(self) -> None:
        # Processes opening a new SQLite file at once race to make it WAL and its tables;
        # under load one in some hundreds is refused "database is locked" at once, without
        # its busy timeout. A few short, growing waits let it in; anything else fails now.
        for attempt in range(5):
            try:
                self.migrate()
                return
            except OperationalError as err:
                if not self._sqlite or "locked" not in str(err) or attempt == 4:
                    raise
                time.sleep(0.05 * 2**attempt)

    def migrate(self) -> None:
        """Bring the tables to this plumb's (see controller/state/migrations/)."""
        with self.engine.connect() as conn:
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
        with self.engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
            if not self._sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY + 1})
            bring_to_head(conn)

    def close(self) -> None:
        self.engine.dispose()

    def now(self) -> datetime:
        """The store's clock, which stamps its rows (a test's clock moves by hand)."""
        return self._clock()

    # -- runs ---------------------------------------------------------------------------

    def begin_run(
        self,
        trigger: str,
        command: str,
        stacks: Iterable[str],
        commit: dict[str, Any] | None = None,
        source: str = "",
        actor: Mapping[str, Any] | None = None,
    ) -> int:
        """A new run, `running` until finish_run seals it; `actor` says who asked (the
        command line's user, host and worktree; see controller/audit/actor.py)."""
        row = Run.begin(self._clock(), trigger, command, stacks, commit or {}, source, actor)
        with self._tx() as s:
            s.add(row)
            s.flush()
            return row.id

    def record_change(
        self,
        run_id: int,
        action: Action,
        outcome: str,
        error: str = "",
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
    ) -> None:
        self.record_changes(run_id, [(action, outcome, error, started_at, finished_at)])

    def record_changes(self, run_id: int, rows: Iterable[ChangeRecord]) -> None:
        """Many changes in one transaction: a no-op run's unchanged actions cost one commit."""
        built = [
            change_row(run_id, action, outcome, error, started, finished)
            for action, outcome, error, started, finished in rows
        ]
        if not built:
            return
        with self._tx() as s:
            open_run(s, run_id)
            s.add_all(built)

    def runs(self, stack: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest runs first, without their changes."""
        query = select(Run).order_by(Run.id.desc()).limit(limit)
        if stack is not None:
            query = query.where(Run.stacks_key.contains(f",{stack},", autoescape=True))
        with self._tx(write=False) as s:
            return [run_dict(r) for r in s.scalars(query)]

    def run(self, run_id: int | str) -> dict[str, Any]:
        """One run with its changes; `"latest"` is the newest run begun. KeyError if none."""
        with self._tx(write=False) as s:
            if run_id == "latest":
                row = s.scalars(select(Run).order_by(Run.id.desc()).limit(1)).first()
            else:
                row = s.get(Run, int(run_id))
            if row is None:
                raise KeyError(f"no run {run_id}")
            return run_dict(row, changes_of(s, [row.id])[row.id])

    # -- resources ----------------------------------------------------------------------

    def mark_create_pending(
        self, run_id: int, stack: str, logical_id: str, kind: str, physical_name: str
    ) -> None:
        """Journal a create before the AWS call: after a crash, observe by tag and adopt."""
        self._edit(stack, logical_id, run_id, lambda row: row.journal_create(kind, physical_name))

    def pending_creates(self, stack: str) -> dict[str, str]:
        query = select(ResourceRow.logical_id, ResourceRow.pending_name).where(
            ResourceRow.stack == stack, ResourceRow.pending_name.is_not(None)
        )
        with self._tx(write=False) as s:
            return {lid: name or "" for lid, name in s.execute(query)}

    def mark_created(self, run_id: int, observed: Observed, desired_hash: str = "") -> None:
        status = "in-sync" if observed.ready else "creating"
        arn = str(observed.attrs.get("arn") or "")
        self._edit(
            observed.stack,
            observed.logical_id,
            run_id,
            lambda row: row.record(
                observed.kind, observed.physical_id, arn, status, desired_hash, observed.spec
            ),
        )

    def upsert_resource(
        self,
        stack: str,
        logical_id: str,
        kind: str,
        physical_id: str = "",
        arn: str = "",
        status: str = "in-sync",
        desired_hash: str = "",
        observed_spec: Mapping[str, Any] | None = None,
        run_id: int | None = None,
    ) -> None:
        """Record what a run saw; `observed_spec=None` keeps the last observation."""
        check_value(status, RESOURCE_STATUSES, "resource status")
        self._edit(
            stack,
            logical_id,
            run_id,
            lambda row: row.record(kind, physical_id, arn, status, desired_hash, observed_spec),
        )

    def remember(self, run_id: int, stack: str, edits: Mapping[str, RowEdit]) -> None:
        """Edit many of one stack's resource rows in one transaction (rows made if new).

        The run's end writes what it saw of every resource; one commit per stack instead of
        two or three per resource keeps a no-op of hundreds of resources cheap."""
        if not edits:
            return
        for attempt in (1, 2):
            try:
                with self._tx() as s:
                    query = select(ResourceRow).where(
                        ResourceRow.stack == stack, ResourceRow.logical_id.in_(list(edits))
                    )
                    rows = {r.logical_id: r for r in s.scalars(locked(query, self._sqlite))}
                    now = self._clock()
                    for logical_id, change in sorted(edits.items()):
                        row = rows.get(logical_id)
                        if row is None:
                            row = ResourceRow(stack=stack, logical_id=logical_id, drift_fields=[])
                            s.add(row)
                        change(row)
                        row.updated_at, row.last_run_id = now, run_id
                return
            except IntegrityError:  # another writer made one of the rows first: once more
                if attempt == 2:
                    raise

    def mark_deleted(self, stack: str, logical_id: str, run_id: int | None) -> None:
        self._edit(stack, logical_id, run_id, lambda row: row.forget())

    def resources(self, stack: str | None = None) -> list[dict[str, Any]]:
        """Every recorded resource, deleted ones included (status "deleted")."""
        query = select(ResourceRow).order_by(ResourceRow.stack, ResourceRow.logical_id)
        if stack is not None:
            query = query.where(ResourceRow.stack == stack)
        with self._tx(write=False) as s:
            return [resource_dict(r) for r in s.scalars(query)]

    def drift_streak(self, stack: str, logical_id: str) -> tuple[int, list[str]]:
        found = self.drift(stack, logical_id)
        return found.streak, found.fields

    def drift(self, stack: str, logical_id: str) -> DriftRecord:
        with self._tx(write=False) as s:
            row = find_row(s, stack, logical_id)
            return as_record(row) if row else DriftRecord()

    def record_drift(
        self,
        stack: str,
        logical_id: str,
        fields: list[str],
        repaired: bool,
        seen: Mapping[str, Any] | None = None,
    ) -> int:
        """Count runs in a row where the same fields drifted back after plumb repaired them.

        Drift seen for the first time, or on other fields, starts at 0; the same fields again
        after a repair add one; again without a repair (plumb backed off, or self-heal is
        off) keep the count; a clean observation resets it. From NON_CONVERGING_AFTER on the
        resource's status is "non-converging" (see state/drift.py); before that, "in-sync"
        once repaired and "drifted" if not. Returns the new streak.
        """
        now = self._clock()
        return self._edit(
            stack, logical_id, None, lambda row: row.record_drift(fields, repaired, seen, now)
        )

    @contextlib.contextmanager
    def _tx(self, write: bool = True, chain: bool = False) -> Iterator[Session]:
        with self._turns, Session(self.engine, expire_on_commit=False) as s, s.begin():
            if write and self._sqlite:
                s.connection(execution_options={WRITE_OPTION: True})
            if chain and not self._sqlite:
                s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            yield s

    def _edit(
        self,
        stack: str,
        logical_id: str,
        run_id: int | None,
        change: Callable[[ResourceRow], T],
    ) -> T:
        """Apply `change` to the resource's row, created if new; retried once if two
        writers created the same row at once."""
        for attempt in (1, 2):
            try:
                with self._tx() as s:
                    row = find_row(s, stack, logical_id, for_update=True)
                    if row is None:
                        row = ResourceRow(stack=stack, logical_id=logical_id, drift_fields=[])
                        s.add(row)
                    result = change(row)
                    row.updated_at = self._clock()
                    row.last_run_id = run_id if run_id is not None else row.last_run_id
                return result
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
