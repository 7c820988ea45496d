"""JSON log lines for the loop: one event per line on stdout, each with its run and stack.

A log collector (CloudWatch, Loki, Datadog) reads one JSON object per line; plumb's
human output is rich text. In JSON mode `plumb run` prints through a console whose file is
a `JsonLines`: each line it would have printed becomes a `message` event, and the loop adds
events of its own (`cycle`, `run`, `action`). The run and stack being worked on are kept
here, process-wide: the loop runs one stack at a time, and an action's event comes from a
worker thread that a context variable would not reach.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import Console

_lock = threading.Lock()
_context: dict[str, Any] = {}
_sink: TextIO | None = None  # set while JSON mode is on


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def active() -> bool:
    return _sink is not None


def emit(event: str, level: str = "info", **fields: Any) -> None:
    """One event, as one line; nothing when JSON mode is off."""
    sink = _sink
    if sink is None:
        return
    with _lock:
        line = {"time": now(), "level": level, "event": event, **_context, **fields}
        sink.write(json.dumps(line, default=str, ensure_ascii=False) + "\n")
        sink.flush()


@contextmanager
def about(**fields: Any) -> Iterator[None]:
    """Events inside carry these fields (`stack`, `run`) unless they name their own."""
    with _lock:
        before = dict(_context)
        _context.update({k: v for k, v in fields.items() if v is not None})
    try:
        yield
    finally:
        with _lock:
            _context.clear()
            _context.update(before)


def note(**fields: Any) -> None:
    """Add to the current context (a run's id, once it has one)."""
    with _lock:
        _context.update(fields)


class JsonLines(io.StringIO):
    """A text file whose every line becomes a `message` event (it keeps no text)."""

    def __init__(self) -> None:
        super().__init__()
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            if line.strip():
                emit("message", message=line.rstrip())
        return len(text)


@contextmanager
def json_mode(stream: TextIO | None = None) -> Iterator[Console]:
    """Turn JSON mode on; the console it yields prints `message` events."""
    global _sink
    _sink = stream or sys.stdout
    try:
        # Wide and plain: a line is an event, not a terminal row to wrap or colour.
        yield Console(file=JsonLines(), width=10_000, no_color=True, highlight=False, emoji=False)
    finally:
        _sink = None
