"""The lease rows behind controller/engine/lease.py: one row per stack, taken by an atomic
update-or-insert, so exactly one of any number of racing replicas gets a free stack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Delete, Update, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from controller.state.database import Database
from controller.state.models import Lock
from controller.state.run_view import lock_dict


@dataclass(frozen=True)
class LockRows:
    """The `locks` table: one lease per stack."""

    db: Database

    def acquire(self, stack: str, holder: str, lease_seconds: float) -> bool:
        """Take the stack's lease if it is free, expired or already ours; never waits."""
        now = self.db.now()
        until = now + timedelta(seconds=lease_seconds)
        takeover = (
            update(Lock)
            .where(Lock.stack == stack, or_(Lock.expires_at <= now, Lock.holder == holder))
            .values(holder=holder, acquired_at=now, expires_at=until)
            .execution_options(synchronize_session=False)
        )
        with self.db.tx() as s:
            if s.execute(takeover).rowcount:  # type: ignore[attr-defined]
                return True
        try:  # nobody ever held it: the primary key lets exactly one racer insert
            with self.db.tx() as s:
                s.add(Lock(stack=stack, holder=holder, acquired_at=now, expires_at=until))
            return True
        except IntegrityError:
            return False

    def renew(self, stack: str, holder: str, lease_seconds: float) -> bool:
        """Extend our lease; False when another holder has taken the stack meanwhile."""
        until = self.db.now() + timedelta(seconds=lease_seconds)
        return self._ours(update(Lock).values(expires_at=until), stack, holder)

    def release(self, stack: str, holder: str) -> bool:
        return self._ours(delete(Lock), stack, holder)

    def relabel(self, stack: str, holder: str, new_holder: str) -> bool:
        """Rename our hold (to add the run it serves), keeping its lease; False if lost."""
        return self._ours(update(Lock).values(holder=new_holder), stack, holder)

    def _ours(self, statement: Update | Delete, stack: str, holder: str) -> bool:
        """`statement` on the stack's row while `holder` holds it; False when it does not."""
        mine = statement.where(Lock.stack == stack, Lock.holder == holder).execution_options(
            synchronize_session=False
        )
        with self.db.tx() as s:
            return bool(s.execute(mine).rowcount)  # type: ignore[attr-defined]

    def rows(self) -> list[dict[str, Any]]:
        """Every lease row, expired ones included, by stack."""
        with self.db.tx(write=False) as s:
            now = self.db.now()
            return [lock_dict(r, now) for r in s.scalars(select(Lock).order_by(Lock.stack))]

    def get(self, stack: str) -> dict[str, Any] | None:
        """Who holds the stack and until when, or None; an expired lease still shows."""
        with self.db.tx(write=False) as s:
            row = s.get(Lock, stack)
            return lock_dict(row, self.db.now()) if row else None
