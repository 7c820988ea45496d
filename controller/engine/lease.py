"""Stack leases: one writer per stack, however many plumb processes share the state.

A run takes a lease on each stack it will write, one stack at a time, and holds it until it
ends. A heartbeat thread renews every held lease at a third of its length, so a run longer
than the lease keeps it, while a holder that dies (kill -9, a lost machine) stops renewing
and loses its stacks when the lease runs out. A holder on this host whose process is gone
is released at once: nothing can still be writing for it.

The holder name says where the writer runs, `host:pid:run:nonce`, so a refused run and
`plumb locks` can name who holds a stack, since when and for which run.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from controller.config import DEFAULT_LEASE
from controller.errors import LockError
from controller.state.holder import Holder, describe_lock, here, process_alive
from controller.state.store import Store

__all__ = ["Holder", "Leases", "describe_lock", "here", "process_alive"]

POLL_SECONDS = 1.0


class Leases:
    """The stacks one run holds; a context manager that releases them all at its end."""

    def __init__(
        self,
        store: Store,
        lease_seconds: float = DEFAULT_LEASE,
        *,
        holder: Holder | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_takeover: Callable[[str], None] | None = None,
    ) -> None:
        """`on_takeover(stack)` is told of each lease taken from an expired or dead holder
        (the metrics count them; this module stays free of how)."""
        self.store = store
        self.lease_seconds = lease_seconds
        self.holder = holder or here()
        self.held: list[str] = []
        self.lost: set[str] = set()
        # Runs whose holder died holding a stack this run took over: they never ended.
        self.orphaned_runs: dict[int, str] = {}
        # Stacks taken from a dead holder that had not named its run yet (killed between
        # taking the lease and beginning its run): stack -> (who, since when).
        self.unnamed: dict[str, tuple[str, str]] = {}
        self._sleep, self._clock = sleep, clock
        self._on_takeover = on_takeover
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._guard = threading.Lock()

    # -- taking ------------------------------------------------------------------------

    def try_take(self, stack: str) -> bool:
        """Take the stack if it is free, expired, ours, or held by a dead process here."""
        name = str(self.holder)
        before = self.store.locks.get(stack)
        taken = self.store.locks.acquire(stack, name, self.lease_seconds)
        from_the_dead = not taken and self._from_the_dead(stack)
        if not (taken or from_the_dead):
            return False
        previous = Holder.parse(str(before["holder"])) if before else None
        theirs = previous is not None and previous.nonce != self.holder.nonce
        with self._guard:
            self.held.append(stack)
            if theirs and previous and before and previous.run:
                self.orphaned_runs[previous.run] = (
                    f"{previous.describe()} held stack {stack} since {before['acquiredAt']}"
                )
            elif theirs and previous and before:
                self.unnamed[stack] = (previous.describe(), str(before["acquiredAt"]))
        # Not a takeover: a lease its holder released between our read and our write.
        if theirs and self._on_takeover and (from_the_dead or (before or {}).get("expired")):
            self._on_takeover(stack)
        self._start_heartbeat()
        return True

    def take(self, stack: str, wait: float = 0.0) -> None:
        """Take the stack, waiting up to `wait` seconds for its holder; LockError past that."""
        deadline = self._clock() + wait
        while not self.try_take(stack):
            if self._clock() >= deadline:
                lock = self.store.locks.get(stack)
                why = describe_lock(lock) if lock else f"stack {stack} was locked meanwhile"
                hint = "wait for that run to finish, pass --wait SECONDS, or see `plumb locks`"
                raise LockError(f"{why}: {hint}")
            self._sleep(min(POLL_SECONDS, max(0.0, deadline - self._clock())))

    def for_run(self, run_id: int) -> None:
        """Put the run's number into the holder name of every lease held."""
        named = Holder(self.holder.host, self.holder.pid, run_id, self.holder.nonce)
        with self._guard:
            for stack in self.held:
                if not self.store.locks.relabel(stack, str(self.holder), str(named)):
                    self.lost.add(stack)
            self.holder = named

    def holds(self, stack: str) -> bool:
        """Still ours: taken and not lost to a renewal that failed."""
        with self._guard:
            return stack in self.held and stack not in self.lost

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=10)
        with self._guard:
            for stack in self.held:
                self.store.locks.release(stack, str(self.holder))
            self.held.clear()

    def __enter__(self) -> Leases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- keeping -----------------------------------------------------------------------

    def renew(self) -> None:
        """Extend every lease held; one that another holder took meanwhile is lost."""
        with self._guard:
            for stack in self.held:
                if stack not in self.lost and not self.store.locks.renew(
                    stack, str(self.holder), self.lease_seconds
                ):
                    self.lost.add(stack)

    def _start_heartbeat(self) -> None:
        if self._beat is not None:
            return
        self._beat = threading.Thread(target=self._heartbeat, name="plumb-lease", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            with contextlib.suppress(Exception):  # a missed beat is retried at the next one
                self.renew()

    def _from_the_dead(self, stack: str) -> bool:
        lock = self.store.locks.get(stack)
        if not lock:
            return False
        other = Holder.parse(str(lock["holder"]))
        if other.host != self.holder.host or not other.pid or process_alive(other.pid):
            return False
        self.store.locks.release(stack, str(lock["holder"]))
        return self.store.locks.acquire(stack, str(self.holder), self.lease_seconds)
