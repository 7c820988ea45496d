"""The loop's Prometheus metrics, on a registry of their own.

Each `Metrics` owns a `CollectorRegistry` rather than the process-wide default, so a test
makes a fresh one and nothing of a library's (or an earlier test's) leaks into /metrics.
The engine never imports this module: the loop's runner observer (run_watch.py) records
each sealed run and lease taken over here, and the endpoint counts webhooks here.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from controller.engine.ledger import resource_status
from controller.engine.run_result import RunResult
from controller.loop.delivery import OUTCOMES as DELIVERY_OUTCOMES
from controller.loop.webhook import BAD_SIGNATURE, REPLAYED, UNSIGNED
from controller.model import ActionType

A = ActionType
# A no-op of a few stacks takes seconds; a run that creates databases takes many minutes.
RUN_SECONDS_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)
WEBHOOK_OUTCOMES = (*DELIVERY_OUTCOMES, UNSIGNED, BAD_SIGNATURE, REPLAYED)
BY_OPERATION = ("service", "operation")  # the labels of the API call counters


class Metrics:
    """Counters and gauges of runs, resources, API calls, leases and webhook deliveries."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.runs = self._counter("plumb_runs", "Runs ended, by outcome.", "outcome")
        self.run_seconds = Histogram(
            "plumb_run_duration_seconds",
            "How long a run took, from its start to its seal.",
            buckets=RUN_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.resources = self._gauge(
            "plumb_resources",
            "Resources by status, as the last run of each stack left them.",
            "status",
        )
        self.drift_found = self._counter(
            "plumb_drift_found", "Resources a scheduled run found differing from their spec."
        )
        self.api_calls = self._counter(
            "plumb_api_calls",
            "AWS API calls, by service and operation (retries not included).",
            *BY_OPERATION,
        )
        self.api_retries = self._counter(
            "plumb_api_retries",
            "AWS API requests sent again after a throttle or a failure.",
            *BY_OPERATION,
        )
        self.lease_takeovers = self._counter(
            "plumb_lease_takeovers", "Stack leases taken over from an expired or dead holder."
        )
        self.last_success = self._gauge(
            "plumb_last_success_timestamp_seconds",
            "When the loop last ended a cycle successfully (Unix time; 0 before the first).",
        )
        self.webhook_deliveries = self._counter(
            "plumb_webhook_deliveries",
            "POST /sync deliveries answered, by outcome: cycle (one was queued), ping, "
            "acknowledged without a cycle (other-event, other-branch, tag, branch-deleted), "
            "or refused (no-event, bad-body, unsigned, bad-signature, replayed).",
            "outcome",
        )
        for outcome in WEBHOOK_OUTCOMES:  # at 0 from the start, so an alert's rate() has a base
            self.webhook_deliveries.labels(outcome)
        self._lock = threading.Lock()
        self._by_stack: dict[str, Tally[str]] = {}
        self._shown: set[str] = set()

    def _counter(self, name: str, documentation: str, *labels: str) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def _gauge(self, name: str, documentation: str, *labels: str) -> Gauge:
        return Gauge(name, documentation, labels, registry=self.registry)

    # -- what the runner and the loop report ---------------------------------------------

    def record_run(self, result: RunResult) -> None:
        self.runs.labels(result.outcome).inc()
        self.run_seconds.observe(result.seconds)
        self._count_calls(result.api_calls)
        if result.plan.options.scheduled:
            self.drift_found.inc(
                sum(1 for a in result.plan.actions if a.changes and a.type is not A.CREATE)
            )
        self._set_resources(result)

    def lease_taken_over(self, stack: str) -> None:
        self.lease_takeovers.inc()

    def watch_last_success(self, last_success: Callable[[], float | None]) -> None:
        """Read the time of the last success when scraped, from the loop's own record."""
        self.last_success.set_function(lambda: last_success() or 0.0)

    def webhook(self, outcome: str) -> None:
        """One delivery answered, with its outcome (delivery.py, webhook.py)."""
        self.webhook_deliveries.labels(outcome).inc()

    # -- pieces ---------------------------------------------------------------------------

    def _count_calls(self, api_calls: Mapping[str, Any]) -> None:
        for counter, key in (
            (self.api_calls, "byOperation"),
            (self.api_retries, "retriesByOperation"),
        ):
            for name, n in (api_calls.get(key) or {}).items():
                service, _, operation = str(name).partition(":")
                counter.labels(service, operation).inc(int(n))

    def _set_resources(self, result: RunResult) -> None:
        """Each stack's counts replace that stack's previous ones; the gauge is their sum."""
        plan = result.plan
        stacks: dict[str, Tally[str]] = {r.stack: Tally() for r in plan.resources.values()}
        for action in plan.actions:
            status = resource_status(action, result.outcomes.get(action.logical_id))
            tally = stacks.setdefault(action.stack, Tally())
            if status is not None:
                tally[status] += 1
        if not stacks:
            return
        with self._lock:
            self._by_stack.update(stacks)
            total: Tally[str] = Tally()
            for tally in self._by_stack.values():
                total.update(tally)
            self._shown.update(total)
            for status in self._shown:  # a status no resource has now reads 0, not its last count
                self.resources.labels(status).set(total.get(status, 0))
