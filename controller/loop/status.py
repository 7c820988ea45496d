"""What the run loop has done so far, for /healthz and /readyz.

The loop writes here at the end of every cycle; the HTTP endpoint reads from other threads,
hence the lock. Health asks "is the loop still getting somewhere": a loop whose last
successful cycle (or, before the first, its start) lies more than `STALE_INTERVALS`
intervals plus a grace in the past is stuck or failing every cycle, and an orchestrator
should be told so. Readiness is simpler: one successful cycle means the controller works.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

# Cycles that may fail or be skipped in a row before the loop counts as stale: one bad
# cycle (a throttled API, a slow create) is weather, three are a climate.
STALE_INTERVALS = 3
# Room for one cycle's own length on top: the first cycle creates whole stacks.
GRACE_SECONDS = 120.0

SUCCEEDED, FAILED, CRASHED = "succeeded", "failed", "crashed"


def iso(at: float | None) -> str | None:
    """Epoch seconds as `2026-12-02T03:04:05Z`, the form log readers and alerts expect."""
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LoopStatus:
    """Thread-safe record of the loop's cycles: counts, last outcome, last success."""

    def __init__(
        self,
        interval: float,
        *,
        grace: float = GRACE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.interval = float(interval)
        self.grace = grace
        self._clock = clock
        self._lock = threading.Lock()
        self.started_at = clock()
        self.cycles = 0
        self.running_since: float | None = None
        self.last_outcome: str | None = None
        self.last_exit: int | None = None
        self.last_cycle_at: float | None = None
        self.last_success_at: float | None = None

    def cycle_started(self) -> None:
        with self._lock:
            self.running_since = self._clock()

    def cycle_ended(self, exit_code: int, crashed: bool = False) -> None:
        """A cycle succeeded when it ran to its end with exit code 0."""
        now = self._clock()
        with self._lock:
            self.cycles += 1
            self.running_since = None
            self.last_exit = exit_code
            self.last_cycle_at = now
            if crashed:
                self.last_outcome = CRASHED
            elif exit_code == 0:
                self.last_outcome = SUCCEEDED
                self.last_success_at = now
            else:
                self.last_outcome = FAILED

    @property
    def stale_after(self) -> float:
        """Seconds without a successful cycle after which the loop is unhealthy."""
        return STALE_INTERVALS * self.interval + self.grace

    @property
    def ready(self) -> bool:
        with self._lock:
            return self.last_success_at is not None

    def healthy(self, now: float | None = None) -> bool:
        now = self._clock() if now is None else now
        with self._lock:
            since = self.last_success_at if self.last_success_at is not None else self.started_at
        return now - since <= self.stale_after

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        now = self._clock() if now is None else now
        healthy = self.healthy(now)
        with self._lock:
            return {
                "healthy": healthy,
                "ready": self.last_success_at is not None,
                "startedAt": iso(self.started_at),
                "intervalSeconds": self.interval,
                "staleAfterSeconds": self.stale_after,
                "cycles": self.cycles,
                "cycleRunningSince": iso(self.running_since),
                "lastOutcome": self.last_outcome,
                "lastExit": self.last_exit,
                "lastCycleAt": iso(self.last_cycle_at),
                "lastSuccessAt": iso(self.last_success_at),
                "now": iso(now),
            }
