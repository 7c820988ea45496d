"""The runs' hash chain in the state: sealing a run into it, and reading it back in order
for the audit. The arithmetic of a link is controller/chain.py's."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from controller.chain import GENESIS_HASH, KEYED, PLAIN, chain_hash
from controller.state.database import Database
from controller.state.models import RUN_OUTCOMES, Run, check_value
from controller.state.queries import changes_of, count_changes, open_run
from controller.state.run_view import run_dict, waiver_records
from controller.state.scrub import plain

_BATCH = 200


@dataclass
class ChainRows:
    """The runs as links of the chain: `seq`, `prev_hash`, `hash` and what they seal."""

    db: Database
    audit_key: bytes | None = None  # with it each new link is an HMAC; never stored

    def seal(
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
        `actor` adds to what the run's begin recorded (the AWS identity, known once AWS was
        asked); `drift` is what the run found (controller/engine/run_facts.py); `exceptions`
        the guardrail exceptions of its stacks (controller/specs/guardrails.py)."""
        check_value(outcome, RUN_OUTCOMES, "run outcome")
        with self.db.tx(chain=True) as s:
            run = open_run(s, run_id)
            head = s.execute(
                select(Run.seq, Run.hash)
                .where(Run.seq.is_not(None))
                .order_by(Run.seq.desc())
                .limit(1)
            ).first()
            run.seq = head.seq + 1 if head else 1
            run.prev_hash = head.hash if head else GENESIS_HASH
            run.finished_at = self.db.now()
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

    def sealed(self) -> Iterator[dict[str, Any]]:
        """Every sealed run in chain order, with its changes, read in batches."""
        last = 0
        while True:
            with self.db.tx(write=False) as s:
                query = select(Run).where(Run.seq > last).order_by(Run.seq).limit(_BATCH)
                rows = list(s.scalars(query))
                changes = changes_of(s, [r.id for r in rows])
                batch = [run_dict(r, changes[r.id]) for r in rows]
            yield from batch
            if len(rows) < _BATCH:
                return
            last = rows[-1].seq or 0

    def unsealed(self) -> list[dict[str, Any]]:
        """Runs outside the chain: still running, or crashed before they finished."""
        with self.db.tx(write=False) as s:
            return [run_dict(r) for r in s.scalars(select(Run).where(Run.hash.is_(None)))]
