"""The AWS client factory: one boto3 session per run, adaptive retries, every call counted.

Throttling is handled here once, by botocore's adaptive retry mode, never inside a
reconciler. The counter hooks botocore's `before-call` event (one per logical API call)
and `before-send` (one per HTTP request, so retries show up as the difference).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import boto3
from botocore.config import Config

READ_PREFIXES = ("Describe", "Get", "List", "Head", "Lookup", "Search", "Batch")


def is_read(operation: str) -> bool:
    """Reads never change AWS; everything else is counted as a write."""
    return operation.startswith(READ_PREFIXES) and not operation.startswith("BatchDelete")


class CallCounter:
    """Thread-safe tally of API calls by `service:Operation`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.sends: Counter[str] = Counter()

    def record_call(self, service: str, operation: str) -> None:
        with self._lock:
            self.calls[f"{service}:{operation}"] += 1

    def record_send(self, service: str, operation: str) -> None:
        with self._lock:
            self.sends[f"{service}:{operation}"] += 1

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
        return max(0, sum(self.sends.values()) - self.total)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "reads": self.reads,
                "writes": self.writes,
                "retries": self.retries,
                "byOperation": dict(sorted(self.calls.items())),
            }


class ClientFactory:
    """Builds and caches boto3 clients for one run; all of them share one counter."""

    def __init__(
        self,
        session: boto3.Session | None = None,
        max_attempts: int = 10,
        counter: CallCounter | None = None,
    ) -> None:
        self.session = session or boto3.Session()
        self.counter = counter or CallCounter()
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": max_attempts},
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

        def on_send(request: Any, **_: Any) -> None:
            operation = request.context.get("operation_name") if request.context else None
            counter.record_send(service, operation or "?")

        client.meta.events.register("before-call", on_call)
        client.meta.events.register("before-send", on_send)
        return client
