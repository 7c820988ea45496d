"""Requests for a cycle now (a webhook), folded into the loop's one-at-a-time cycles.

The scheduler never runs the cycle job twice at once, but it drops a run that falls due
while the job is busy; a push that lands mid-cycle would then wait a whole interval, though
the running cycle fetched the commit before that push. So a request made while a cycle
runs is remembered, and the cycle job runs once more before it returns. However many
requests arrive meanwhile, that is one more cycle: each cycle fetches the newest commit.
Each request may name who asked (a webhook delivery's id): the cycle is handed every name
asked since the last cycle began, so its runs can record all the deliveries folded into it.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
from collections.abc import Callable

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler


class CycleGate:
    """Wraps the cycle: `run` is the scheduler's job, `request` asks for a cycle now.
    The cycle is called with the names of those who asked for it ([] when none did)."""

    def __init__(self, cycle: Callable[[list[str]], int]) -> None:
        self._cycle = cycle
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self._asked: list[str] = []

    def run(self) -> int:
        """One cycle, then one more for each batch of requests made while it ran. A run
        that falls due while a cycle is still going (the interval is shorter than a cycle)
        is such a request: missed cycles fold into one, right after."""
        with self._lock:
            if self._running:
                self._again = True
                return 0
            self._running, self._again = True, False  # this cycle serves earlier requests
            asked, self._asked = self._asked, []
        try:
            while True:
                code = self._cycle(asked)
                with self._lock:  # one critical section: no request falls between the two
                    if not self._again:
                        self._running = False
                        return code
                    self._again = False
                    asked, self._asked = self._asked, []
        except BaseException:  # nothing swallowed: the gate reopens, the error goes on up
            with self._lock:
                self._running = False
            raise

    def request(self, by: str | None = None) -> bool:
        """Ask for a cycle, `by` whom if said; True when none is running, so the caller must
        start one now (the scheduler's job, so it stays the only one); False when the
        running one will go round once more."""
        with self._lock:
            if by is not None:
                self._asked.append(by)
            if self._running:
                self._again = True
                return False
            return True

    def trigger_for(self, scheduler: BaseScheduler, job_id: str) -> Callable[[str], None]:
        """`trigger(by)` for the endpoint: makes the job `run` due now, unless a cycle is
        running, which then goes round once more. A job made due while it still runs would
        be dropped by the scheduler; the request is not: the gate remembers it."""

        def trigger(by: str) -> None:
            if self.request(by):
                now = datetime.datetime.now(scheduler.timezone)
                with contextlib.suppress(JobLookupError):  # the loop is stopping
                    scheduler.modify_job(job_id, next_run_time=now)

        return trigger

    @property
    def running(self) -> bool:
        with self._lock:
            return self._running
