"""What the runs say about a git source: which commit is in force, which were refused.

A commit refused once (invalid, unsigned, or its fetch failed) is recorded once, not again
every interval; the newest commit that was accepted stays in force, and the loop goes on
converging from it until a good commit arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.state.database import Database
from controller.state.models import REJECTED, Run
from controller.state.run_view import run_dict


@dataclass(frozen=True)
class SourceRuns:
    """The runs of a git source, as the loop asks about its commits."""

    db: Database

    def commit_in_force(self, source: str) -> dict[str, Any] | None:
        """The newest run of `source` whose commit was accepted (not refused), or None."""
        query = (
            select(Run)
            .where(Run.source == source, Run.commit_sha != "", Run.outcome != REJECTED)
            .order_by(Run.id.desc())
            .limit(1)
        )
        with self.db.tx(write=False) as s:
            row = s.scalars(query).first()
            return run_dict(row) if row else None

    def refused_already(self, source: str, sha: str, errors: list[str]) -> int | None:
        """The run that refused this commit before (by sha), or this fetch failure (same
        errors, and no other commit accepted since): None when this refusal is news."""
        with self.db.tx(write=False) as s:
            query = select(Run).where(Run.source == source, Run.outcome == REJECTED)
            if sha:
                found = s.scalars(
                    query.where(Run.commit_sha == sha).order_by(Run.id.desc()).limit(1)
                ).first()
                return found.id if found else None
            last = s.scalars(query.order_by(Run.id.desc()).limit(1)).first()
            if last is None or last.commit_sha or list(last.errors) != errors:
                return None
            before = self._accepted_sha(s, source, below=last.id)
            since = self._accepted_shas(s, source, above=last.id)
            return last.id if since <= {before} else None

    @staticmethod
    def _accepted_sha(s: Session, source: str, below: int) -> str:
        query = (
            select(Run.commit_sha)
            .where(Run.source == source, Run.outcome != REJECTED, Run.id < below)
            .order_by(Run.id.desc())
            .limit(1)
        )
        return s.scalars(query).first() or ""

    @staticmethod
    def _accepted_shas(s: Session, source: str, above: int) -> set[str]:
        query = select(Run.commit_sha).where(
            Run.source == source, Run.outcome != REJECTED, Run.id > above
        )
        return set(s.scalars(query))
