"""Shared fixtures: fake credentials, moto in-process, a Context, and a one-pass reconcile.

Nothing here talks to a real AWS account: credentials are fake and every endpoint is moto.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# moto reads these when it is imported: requested ACM certificates become ISSUED at once,
# and ECS services report their desired tasks as running. Without its default AMIs (plumb
# launches no instances) each test's EC2 backend starts in a tenth of the time.
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
os.environ.setdefault("MOTO_ECS_SERVICE_RUNNING", "2")
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from moto import mock_aws

from controller.aws.clients import ClientFactory
from controller.aws.context import Context
from controller.kinds.base import BaseReconciler
from controller.kinds.diff import diff
from controller.model import Observed, Resource
from plumb_embedded.endpoint import certificate_arns, provide_certificates
from plumb_embedded.moto_compat import patch_moto

REGION = "us-east-1"
patch_moto()  # the same moto fixes the embedded endpoint carries
ROOT = Path(__file__).resolve().parents[1]


def example_certificates() -> set[str]:
    """The ACM certificates the example specs and test specs name: the account the tests
    stand in for holds them, as the embedded endpoint's does."""
    texts = [p.read_text() for p in [*ROOT.glob("specs/*.yaml"), *ROOT.glob("tests/**/*.yaml")]]
    return certificate_arns(word for text in texts for word in text.split())


def provide_example_certificates() -> None:
    provide_certificates(example_certificates())


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in-process for the length of one test."""
    with mock_aws():
        provide_example_certificates()
        yield


@pytest.fixture
def clients(aws: None) -> ClientFactory:
    # No retries in tests: a moto HTTP 500 must show once, not be retried into noise.
    return ClientFactory(max_attempts=1)


@pytest.fixture
def ctx(clients: ClientFactory) -> Context:
    return Context(clients, REGION, {"acme-prod", "acme-staging"})


def placeholders(value: Any) -> Any:
    """References and joins as plain strings, so an expanded spec can meet its kind schema."""
    if isinstance(value, dict):
        if "ref" in value or "join" in value:
            return "placeholder-" + json.dumps(value, sort_keys=True)
        return {k: placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [placeholders(v) for v in value]
    return value


def count_calls(ctx: Context, run: Callable[[], Any]) -> tuple[int, dict[str, int]]:
    """(writes, calls by operation) that `run` made through `ctx`'s clients."""
    before = ctx.clients.counter.snapshot()
    run()
    after = ctx.clients.counter.snapshot()
    ops = {op: n - before["byOperation"].get(op, 0) for op, n in after["byOperation"].items()}
    return after["writes"] - before["writes"], {op: n for op, n in ops.items() if n}


def reconcile_once(
    rec: BaseReconciler, desired: Sequence[Resource], ctx: Context
) -> tuple[dict[str, str], dict[str, Observed]]:
    """One observe-diff-act pass for one kind, without the graph: (action by id, observed).

    Reconciler tests use it to show create, no-op and drift repair against moto; the
    engine's own tests cover references, waves and prune.
    """
    observed = rec.observe(list(desired), ctx)
    actions: dict[str, str] = {}
    for res in desired:
        found = observed.get(res.logical_id)
        if found is None:
            observed[res.logical_id] = rec.create(res, ctx)
            actions[res.logical_id] = "create"
            continue
        delta = diff(res, found)
        if delta:
            observed[res.logical_id] = rec.update(res, found, delta, ctx)
            actions[res.logical_id] = "update"
        else:
            actions[res.logical_id] = "noop"
    return actions, observed
