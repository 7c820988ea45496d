"""Waiting for what is still becoming ready, within one budget for the whole run.

DocumentDB, Redis, a NAT gateway and a service's deployment take minutes on AWS. A
resource whose dependency exists but is not ready waits for it here, polling with backoff,
until the run's wait budget is spent; past it the dependents stay pending, the run ends
`progressing`, and the next run goes on. No run blocks longer than its budget, however
many resources wait: the deadline is shared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from controller.model import Observed

FIRST_DELAY = 2.0
MAX_DELAY = 30.0
DEFAULT_BUDGET = 300.0  # seconds a run may spend waiting, in all


class Waiter:
    def __init__(
        self,
        budget: float = DEFAULT_BUDGET,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        # `sleep` may return early (a stop event's wait): plumb told to stop waits no more.
        self.clock, self.sleep, self.stopping = clock, sleep, stopping
        self.deadline = clock() + max(0.0, budget)
        self._locks: dict[str, threading.Lock] = {}
        self._latest: dict[str, Observed] = {}
        self._guard = threading.Lock()
        self.polls = 0

    def wait(self, key: str, current: Observed, poll: Callable[[], Observed | None]) -> Observed:
        """`current` once it is ready, or the last observation when the budget is spent.
        One thread polls a given resource; others waiting on it share what it finds."""
        with self._lock_for(key):
            found, delay = self._latest.get(key, current), 0.0
            while not found.ready and not self.stopping():
                remaining = self.deadline - self.clock()
                if remaining <= 0:
                    break
                # The first look is at once: a create's answer is often older than the
                # resource's state (a load balancer answers "provisioning", then is active).
                if delay:
                    self.sleep(min(delay, remaining))
                delay = min(max(delay * 2, FIRST_DELAY), MAX_DELAY)
                self.polls += 1
                found = poll() or found
            self._latest[key] = found
            return found

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())
