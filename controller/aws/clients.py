"""The AWS client factory: one boto3 session per run, adaptive retries, every call counted.

Throttling is handled here once, by botocore's adaptive retry mode, never inside a
reconciler. The counter hooks botocore's `before-call` event (one per logical API call)
and `after-call`/`after-call-error`, where botocore's own retry context says how many
attempts the call took: its retries, per service and per operation. (A `before-send` hook
cannot tell the operation: botocore's request context does not hold its name.) A call
that spent every attempt carries a note naming its service, operation and attempts
(`gave_up`), so a run that gives up says what it could not reach.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError
from botocore.loaders import Loader, create_loader

from controller.aws.retry_guard import guard

READ_PREFIXES = ("Describe", "Get", "List", "Head", "Lookup", "Search", "Batch")


def is_read(operation: str) -> bool:
    """Reads never change AWS; everything else is counted as a write."""
    return operation.startswith(READ_PREFIXES) and not operation.startswith("BatchDelete")


class CallCounter:
    """Thread-safe tally of API calls by `service:Operation`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.again: Counter[str] = Counter()

    def record_call(self, service: str, operation: str) -> None:
        with self._lock:
            self.calls[f"{service}:{operation}"] += 1

    def record_attempts(self, service: str, operation: str, attempts: int) -> None:
        """A call done (answered or failed) after `attempts` requests: all but the first
        were retries."""
        if attempts > 1:
            with self._lock:
                self.again[f"{service}:{operation}"] += attempts - 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def reads(self) -> int:
        return sum(n for key, n in self.calls.items() if is_read(key.split(":", 1)[1]))

    @property
    def writes(self) -> int:
        return self.total - self.reads

    @property
    def retries(self) -> int:
        return sum(self.again.values())

    @property
    def retries_by_service(self) -> dict[str, int]:
        """Requests sent again, by service: where AWS throttled or failed this run."""
        by_service: Counter[str] = Counter()
        for key, n in self.again.items():
            by_service[key.split(":", 1)[0]] += n
        return dict(sorted(by_service.items()))

    @property
    def retries_by_operation(self) -> dict[str, int]:
        """Requests sent again, by `service:Operation`: which call AWS throttled or failed."""
        return dict(sorted(self.again.items()))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "reads": self.reads,
                "writes": self.writes,
                "retries": self.retries,
                "retriesByService": self.retries_by_service,
                "retriesByOperation": self.retries_by_operation,
                "byOperation": dict(sorted(self.calls.items())),
            }


_models_lock = threading.Lock()


@functools.cache
def _models() -> Loader:
    """The one loader of this process's service models."""
    return create_loader()


def new_session() -> boto3.Session:
    """A boto3 Session that shares one model loader with every other of this process.

    Each new Session would read and parse the services' model files again (ec2's alone is
    megabytes): some 0.4 s of CPU for a run's clients, most of a small no-op. The loader
    holds only those static files; credentials and settings stay each Session's own."""
    with _models_lock:
        core = botocore.session.get_session()
        core.register_component("data_loader", _models())
        session = boto3.Session(botocore_session=core)
        # boto3 adds its data folder to the loader of each Session it makes: once will do.
        paths = _models().search_paths
        paths[:] = list(dict.fromkeys(paths))
    return session


class ClientFactory:
    """Builds and caches boto3 clients for one run; all of them share one counter."""

    def __init__(
        self,
        session: boto3.Session | None = None,
        max_attempts: int = 10,
        counter: CallCounter | None = None,
    ) -> None:
        self.session = session or new_session()
        self.counter = counter or CallCounter()
        self.max_attempts = max_attempts
        self._config = Config(
            # total_max_attempts counts the first attempt too; botocore's "max_attempts"
            # key would mean retries, one more attempt than the user asked for.
            retries={"mode": "adaptive", "total_max_attempts": max_attempts},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=32,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._make(service, region)
            return self._clients[key]

    def _make(self, service: str, region: str) -> Any:
        client = self.session.client(service, region_name=region, config=self._config)
        counter = self.counter

        def on_call(model: Any, **_: Any) -> None:
            counter.record_call(service, model.name)

        def on_done(event_name: str, context: dict[str, Any], **_: Any) -> None:
            attempts = int((context.get("retries") or {}).get("attempt", 1))
            counter.record_attempts(service, event_name.rsplit(".", 1)[-1], attempts)

        client.meta.events.register("before-call", on_call)
        client.meta.events.register("after-call", on_done)
        client.meta.events.register("after-call-error", on_done)
        note = _note_gave_up(service, self.max_attempts)
        client.meta.events.register("after-call", note)
        client.meta.events.register("after-call-error", note)
        guard(client)  # no blind retry of a create whose answer was lost: retry_guard.py
        return client


GAVE_UP = "{service} {operation}: gave up after {attempts} attempts"
_GAVE_UP_KEY = "PlumbGaveUp"


def _note_gave_up(service: str, max_attempts: int) -> Any:
    """A call that failed on its last attempt says so: botocore's own error names neither
    the service nor, for a dropped connection, how often it tried. A ClientError is made
    from the parsed response after this event, so its note goes into that response."""

    def note(
        event_name: str,
        context: dict[str, Any],
        parsed: Any = None,
        exception: Any = None,
        **_: Any,
    ) -> None:
        attempts = int((context.get("retries") or {}).get("attempt", 1))
        # Not an error of plumb's own raised from a botocore hook (retry_guard's veto).
        failed = isinstance(exception, BotoCoreError) or (
            isinstance(parsed, dict) and "Error" in parsed
        )
        if not failed or attempts < max(2, max_attempts):
            return
        operation = event_name.rsplit(".", 1)[-1]
        text = GAVE_UP.format(service=service, operation=operation, attempts=attempts)
        if isinstance(exception, BotoCoreError):
            exception.plumb_gave_up = text
        else:
            parsed.setdefault("ResponseMetadata", {})[_GAVE_UP_KEY] = text

    return note


def gave_up(err: BaseException) -> str:
    """The note "ec2 CreateVpc: gave up after 3 attempts" when botocore spent every attempt
    on the call that raised `err`, else ""."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return str((response.get("ResponseMetadata") or {}).get(_GAVE_UP_KEY, ""))
    return str(getattr(err, "plumb_gave_up", ""))
