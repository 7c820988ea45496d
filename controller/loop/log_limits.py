"""Log lines a stranger can cause, kept to a few a minute whatever they send.

Anyone who reaches the endpoint can send unsigned deliveries as fast as the network lets
them; a warning for each would fill a disk or a log bill. So a refusal is logged at most
once per reason per `period`, the next line saying how many were held back meanwhile, and
waitress's own warnings are held to one per message per period. Its task-queue warning
("Task queue depth is N", one per request once all threads are busy) says only that
requests wait, which the connection limit already bounds: it is dropped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

PERIOD = 60.0
WAITRESS_LOGGERS = ("waitress", "waitress.queue")


class ThrottledWarnings:
    """JSON warning lines, at most one per key per `period` seconds."""

    def __init__(
        self,
        logger: logging.Logger,
        period: float = PERIOD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger, self._period, self._clock = logger, period, clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warn(self, key: str, fields: dict[str, Any]) -> bool:
        """Log `fields` unless a line for `key` went out less than `period` ago; True when
        logged. A logged line carries `suppressed`: the lines held back since the last."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._period:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            self._last[key] = now
            held = self._held.pop(key, 0)
        self._logger.warning(json.dumps({**fields, "suppressed": held}))
        return True


class OncePerPeriod(logging.Filter):
    """A library's log filter: one record per logger and message per period, and nothing
    below ERROR from the loggers named in `drop`."""

    def __init__(
        self,
        period: float = PERIOD,
        drop: tuple[str, ...] = ("waitress.queue",),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._period, self._drop, self._clock = period, drop, clock
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        if record.name in self._drop:
            return False
        key, now = (record.name, str(record.msg)), self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._period:
                return False
            self._last[key] = now
        return True


_quieted = threading.Lock()


def quiet_waitress() -> None:
    """Put one OncePerPeriod on waitress's loggers (a logger's filters do not reach its
    children's records, so each gets it); calling again adds none."""
    with _quieted:
        for name in WAITRESS_LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(f, OncePerPeriod) for f in logger.filters):
                logger.addFilter(OncePerPeriod())
