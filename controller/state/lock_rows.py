"""The lease rows behind controller/engine/lease.py: one row per stack, taken by an atomic
update-or-insert, so exactly one of any number of racing replicas gets a free stack."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controller.state.models import Lock
from controller.state.run_view import lock_dict


class LockRows:
    """Store's lease methods; Store provides the transactions and the clock."""

    _clock: Callable[[], datetime]

    def _tx(
        self, write: bool = True, chain: bool = False
    ) -> contextlib.AbstractContextManager[Session]:
        raise NotImplementedError

    def acquire_lock(self, stack: str, holder: str, lease_seconds: float) -> bool:
        """Take the stack's lease if it is free, expired or already ours; never waits."""
        now = self._clock()
        until = now + timedelta(seconds=lease_seconds)
        takeover = (
            update(Lock)
            .where(Lock.stack == stack, or_(Lock.expires_at <= now, Lock.holder == holder))
            .values(holder=holder, acquired_at=now, expires_at=until)
            .execution_options(synchronize_session=False)
        )
        with self._tx() as s:
            if s.execute(takeover).rowcount:  # type: ignore[attr-defined]
                return True
        try:  # nobody ever held it: the primary key lets exactly one racer insert
            with self._tx() as s:
                s.add(Lock(stack=stack, holder=holder, acquired_at=now, expires_at=until))
            return True
        except IntegrityError:
            return False

    def renew_lock(self, stack: str, holder: str, lease_seconds: float) -> bool:
        """Extend our lease; False when another holder has taken the stack meanwhile."""
        until = self._clock() + timedelta(seconds=lease_seconds)
        renew = (
            update(Lock)
            .where(Lock.stack == stack, Lock.holder == holder)
            .values(expires_at=until)
            .execution_options(synchronize_session=False)
        )
        with self._tx() as s:
            return bool(s.execute(renew).rowcount)  # type: ignore[attr-defined]

    def release_lock(self, stack: str, holder: str) -> bool:
        with self._tx() as s:
            gone = s.execute(
                delete(Lock)
                .where(Lock.stack == stack, Lock.holder == holder)
                .execution_options(synchronize_session=False)
            )
            return bool(gone.rowcount)  # type: ignore[attr-defined]

    def relabel_lock(self, stack: str, holder: str, new_holder: str) -> bool:
        """Rename our hold (to add the run it serves), keeping its lease; False if lost."""
        with self._tx() as s:
            moved = s.execute(
                update(Lock)
                .where(Lock.stack == stack, Lock.holder == holder)
                .values(holder=new_holder)
                .execution_options(synchronize_session=False)
            )
            return bool(moved.rowcount)  # type: ignore[attr-defined]

    def locks(self) -> list[dict[str, Any]]:
        """Every lease row, expired ones included, by stack."""
        with self._tx(write=False) as s:
            now = self._clock()
            return [lock_dict(r, now) for r in s.scalars(select(Lock).order_by(Lock.stack))]

    def lock(self, stack: str) -> dict[str, Any] | None:
        """Who holds the stack and until when, or None; an expired lease still shows."""
        with self._tx(write=False) as s:
            row = s.get(Lock, stack)
            return lock_dict(row, self._clock()) if row else None
