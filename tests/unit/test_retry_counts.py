"""A run's record agrees with itself: the retries it counts per operation are botocore's own
attempts, name real operations, and add up to the total the same record gives.

Before, every HTTP request was counted as a retry of an operation named "?" (botocore's
request context holds no operation name), while `retries` said 0: a sealed report that
contradicted itself. Calls go through `FaultProxy` in front of a moto server on loopback,
throttled at random, so botocore really retries them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from botocore.retries.adaptive import ClientRateLimiter
from botocore.retries.standard import ExponentialBackoff
from moto.server import ThreadedMotoServer
from prometheus_client import generate_latest

from controller.aws.clients import ClientFactory
from controller.loop.metrics import Metrics
from tests.faults.proxy import FaultProxy

REAL_OPERATION = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$")


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """No backoff between attempts, and no slowing of the send rate after a throttle
    (adaptive mode's client-side limiter): what is counted stays the same, in seconds."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(ClientRateLimiter, "on_sending_request", lambda self, **_: None)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _calls(factory: ClientFactory) -> None:
    """A few dozen calls over three services and both protocols (query and JSON)."""
    logs = factory.client("logs", "us-east-1")
    ec2 = factory.client("ec2", "us-east-1")
    iam = factory.client("iam", "us-east-1")
    for i in range(8):
        logs.create_log_group(logGroupName=f"/counts/{i}")
        logs.describe_log_groups(logGroupNamePrefix="/counts/")
        ec2.describe_vpcs()
        iam.list_roles()
    for i in range(8):
        logs.delete_log_group(logGroupName=f"/counts/{i}")


def test_retries_by_operation_add_up_and_name_real_operations(moto_url: str) -> None:
    with FaultProxy(moto_url, rate=0.3, faults=["throttle"], seed=7) as proxy:
        factory = ClientFactory(max_attempts=20)
        _point_at(factory, proxy.url)
        _calls(factory)
    calls = factory.counter.snapshot()
    injected = sum(proxy.injected.values())
    assert injected > 5, "the proxy throttled some requests"
    assert calls["retries"] == injected, "each throttle was sent again, once"
    assert sum(calls["retriesByOperation"].values()) == calls["retries"]
    assert sum(calls["retriesByService"].values()) == calls["retries"]
    assert all(REAL_OPERATION.match(op) for op in calls["retriesByOperation"]), calls
    assert set(calls["retriesByOperation"]) <= set(calls["byOperation"])
    assert calls["total"] == 40


def test_a_run_without_faults_has_no_retry_anywhere(moto_url: str) -> None:
    factory = ClientFactory()
    _point_at(factory, moto_url)
    _calls(factory)
    calls = factory.counter.snapshot()
    assert calls["total"] == 40 and calls["retries"] == 0
    assert calls["retriesByOperation"] == {} and calls["retriesByService"] == {}
    metrics = Metrics()
    metrics._count_calls(calls)
    text = generate_latest(metrics.registry).decode()
    assert not re.search(r"^plumb_api_retries_total\{", text, re.M), text


def test_the_retry_metric_names_the_throttled_operation(moto_url: str) -> None:
    with FaultProxy(moto_url, rate=1.0, faults=["throttle"], services=["logs"]) as proxy:
        factory = ClientFactory(max_attempts=3)
        _point_at(factory, proxy.url)
        factory.client("ec2", "us-east-1").describe_vpcs()
        with pytest.raises(ClientError, match="Rate exceeded"):
            factory.client("logs", "us-east-1").describe_log_groups()
    calls = factory.counter.snapshot()
    assert calls["retriesByOperation"] == {"logs:DescribeLogGroups": 2}
    metrics = Metrics()
    metrics._count_calls(calls)
    text = generate_latest(metrics.registry).decode()
    assert (
        'plumb_api_retries_total{operation="DescribeLogGroups",service="logs"} 2.0' in text
    ), text
    assert 'operation="?"' not in text


def _point_at(factory: ClientFactory, url: str) -> None:
    """Every client of the factory goes to `url` (boto3 reads AWS_ENDPOINT_URL at client
    creation, which the tests share: setting it per factory keeps them apart)."""
    make = factory.session.client

    def client(service: str, **kwargs: object) -> object:
        return make(service, endpoint_url=url, **kwargs)

    factory.session.client = client  # type: ignore[method-assign]
