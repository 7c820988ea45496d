"""The runs' hash chain in the state: sealing a run into it, and reading it back in order
for the audit. The arithmetic of a link is controller/chain.py's."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from controller.chain import GENESIS_HASH, KEYED, PLAIN, chain_hash
from controller.state.models import RUN_OUTCOMES, Run, check_value
from controller.state.queries import changes_of, count_changes, open_run
from controller.state.run_view import run_dict, waiver_records
from controller.state.scrub import plain

_BATCH = 200


class ChainRows:
    """Store's chain methods; Store provides the transactions, the clock and the key."""

    _clock: Callable[[], datetime]
    _sqlite: bool
    # The audit key: with it each new link is an HMAC. Never written to the state.
    audit_key: bytes | None = None

    def _tx(
        self, write: bool = True, chain: bool = False
    ) -> contextlib.AbstractContextManager[Session]:
        raise NotImplementedError

    def finish_run(
        self,
        run_id: int,
        outcome: str,
        counts: dict[str, int] | None = None,
        api_calls: dict[str, Any] | None = None,
        timings: dict[str, Any] | None = None,
        errors: Iterable[str] = (),
        warnings: Iterable[str] = (),
        waivers: Iterable[Mapping[str, Any]] = (),
        actor: Mapping[str, Any] | None = None,
        drift: Mapping[str, Any] | None = None,
        exceptions: Iterable[Mapping[str, Any]] = (),
    ) -> str:
        """Seal the run into the hash chain and return its hash; counts default to its changes.
        `actor` adds to what begin_run recorded (the AWS identity, known once AWS was asked);
        `drift` is what the run found (controller/engine/run_facts.py); `exceptions` the guardrail
        exceptions of its stacks (controller/specs/guardrails.py)."""
        check_value(outcome, RUN_OUTCOMES, "run outcome")
        with self._tx(chain=True) as s:
            run = open_run(s, run_id)
            head = s.execute(
                select(Run.seq, Run.hash)
                .where(Run.seq.is_not(None))
                .order_by(Run.seq.desc())
                .limit(1)
            ).first()
            run.seq = head.seq + 1 if head else 1
            run.prev_hash = head.hash if head else GENESIS_HASH
            run.finished_at = self._clock()
            run.outcome = outcome
            run.counts = plain({**count_changes(s, run_id), **(counts or {})})
            run.api_calls = plain(api_calls or {})
            run.timings = plain(timings or {})
            run.errors = [str(e) for e in errors]
            run.warnings = [str(w) for w in warnings]
            run.waivers = plain(waiver_records(waivers))
            run.actor = plain({**(run.actor or {}), **(actor or {})})
            run.drift = plain(dict(drift or {}))
            run.exceptions = plain([dict(e) for e in exceptions])
            run.seal = KEYED if self.audit_key else PLAIN
            s.flush()
            s.refresh(run)  # hash exactly what was stored, as the audit will read it back
            body = run_dict(run, changes_of(s, [run_id])[run_id])
            run.hash = chain_hash(run.prev_hash or "", body, self.audit_key)
            return run.hash

    def chain(self) -> Iterator[dict[str, Any]]:
        """Every sealed run in chain order, with its changes, read in batches."""
        last = 0
        while True:
            with self._tx(write=False) as s:
                query = select(Run).where(Run.seq > last).order_by(Run.seq).limit(_BATCH)
                rows = list(s.scalars(query))
                changes = changes_of(s, [r.id for r in rows])
                batch = [run_dict(r, changes[r.id]) for r in rows]
            yield from batch
            if len(rows) < _BATCH:
                return
            last = rows[-1].seq or 0

    def run_ids(self) -> list[int]:
        with self._tx(write=False) as s:
            return list(s.scalars(select(Run.id).order_by(Run.id)))

    def unsealed_runs(self) -> list[dict[str, Any]]:
        """Runs outside the chain: still running, or crashed before they finished."""
        with self._tx(write=False) as s:
            return [run_dict(r) for r in s.scalars(select(Run).where(Run.hash.is_(None)))]

    def ids_issued(self) -> int:
        """The highest run id this database ever handed out, removed runs included: SQLite
        keeps it in sqlite_sequence (AUTOINCREMENT), PostgreSQL in the id's sequence. A
        copy restored from before a run knows no such id; deleting the run leaves it."""
        with self._tx(write=False) as s:
            highest = s.scalar(select(func.max(Run.id))) or 0
            if self._sqlite:
                query = "SELECT seq FROM sqlite_sequence WHERE name = 'runs'"
            else:
                query = "SELECT last_value FROM runs_id_seq WHERE is_called"
            # A sequence renamed or missing: the ids still in the table will do.
            with contextlib.suppress(Exception), s.begin_nested():
                highest = max(highest, int(s.execute(text(query)).scalar() or 0))
            return highest
