"""Retries by service in a run and its report, and a call that gave up saying so.

A throttled or failing call is made by `FaultProxy` (tests/faults/proxy.py), whose faults
never reach an upstream, so none is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from botocore.retries.standard import ExponentialBackoff

from controller.aws.clients import CallCounter, ClientFactory
from controller.kinds.errors import error_message
from controller.kinds.registry import reconciler_for
from controller.reports.render import calls_text
from controller.reports.run_report import render
from controller.state.store import Store
from tests.faults.proxy import FaultProxy

NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.fixture
def proxy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    with FaultProxy(NOWHERE, rate=1.0, faults=[request.param]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        yield proxy


def test_retries_are_counted_per_service_and_only_where_there_were_some() -> None:
    counter = CallCounter()
    for service, operation, attempts in [("ec2", "CreateVpc", 3), ("iam", "GetRole", 1)]:
        counter.record_call(service, operation)
        counter.record_attempts(service, operation, attempts)
    calls = counter.snapshot()
    assert calls["retries"] == 2 and calls["retriesByService"] == {"ec2": 2}
    assert calls["retriesByOperation"] == {"ec2:CreateVpc": 2}
    assert calls_text(calls) == "AWS API calls: 2 (1 reads, 1 writes, 2 retries: ec2 2)"
    calls["retriesByService"] = {}
    assert calls_text(calls).endswith("2 retries)"), "nothing to name, no colon"


def _run_with(tmp_path: Path, calls: dict[str, Any]) -> dict[str, Any]:
    store = Store(f"sqlite:///{tmp_path}/state.db")
    run_id = store.runs.begin("apply", "plumb apply", ["acme-prod"])
    store.chain.seal(run_id, "succeeded", api_calls=calls, timings={}, errors=[], warnings=[])
    run = store.runs.get(run_id)
    store.close()
    return run


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_the_report_names_the_services_it_retried_only_when_it_retried(
    tmp_path: Path, fmt: str
) -> None:
    calls = {"total": 5, "reads": 3, "writes": 2, "retries": 4, "byOperation": {}}
    retried = _run_with(tmp_path / "a", {**calls, "retriesByService": {"ec2": 3, "iam": 1}})
    assert "4 retries (ec2 3, iam 1)." in render(retried, fmt)
    quiet = _run_with(tmp_path / "b", {**calls, "retries": 0, "retriesByService": {}})
    assert "0 retries." in render(quiet, fmt)


@pytest.mark.parametrize("proxy", ["throttle"], indirect=True)
def test_a_throttled_call_that_gave_up_names_service_operation_and_attempts(
    proxy: FaultProxy,
) -> None:
    factory = ClientFactory(max_attempts=3)
    with pytest.raises(ClientError) as err:
        factory.client("ec2", "us-east-1").create_vpc(CidrBlock="10.0.0.0/16")
    assert proxy.calls == {"ec2:CreateVpc": 3}
    assert error_message(err.value) == (
        "ec2 CreateVpc: gave up after 3 attempts: Request limit exceeded."
    )
    classified = reconciler_for("Vpc").classify(err.value)
    assert classified.code == "RequestLimitExceeded"
    assert str(classified).startswith("ec2 CreateVpc: gave up after 3 attempts")
    assert factory.counter.snapshot()["retriesByService"] == {"ec2": 2}


@pytest.mark.parametrize("proxy", ["drop"], indirect=True)
def test_a_dropped_read_that_gave_up_says_so_too(proxy: FaultProxy) -> None:
    with pytest.raises(ConnectionClosedError) as err:
        ClientFactory(max_attempts=2).client("iam", "us-east-1").list_roles()
    assert error_message(err.value).startswith(
        "iam ListRoles: gave up after 2 attempts: Connection was closed"
    )


@pytest.mark.parametrize("proxy", ["throttle"], indirect=True)
def test_a_call_that_was_not_retried_did_not_give_up(proxy: FaultProxy) -> None:
    with pytest.raises(ClientError) as err:
        ClientFactory(max_attempts=1).client("iam", "us-east-1").list_roles()
    assert proxy.calls == {"iam:ListRoles": 1}, "max_attempts counts the first attempt"
    assert error_message(err.value) == "Rate exceeded"
