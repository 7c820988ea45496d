"""The fault proxy's faults look, to botocore, like the real services' own, and it retries them.

A fault never reaches the upstream, so most cases need none; the pass-through cases use a
stub upstream that answers every request with an empty JSON document.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError
from botocore.retries.standard import ExponentialBackoff

from tests.faults.proxy import Call, FaultProxy, s3_operation

REGION = "us-east-1"


class _Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str] = []

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Stub.seen.append(f"{self.command} {self.path}")
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    _Stub.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore waits up to a second before retrying a throttle; the shapes need no wait."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


def client(service: str, url: str, attempts: int = 2) -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    return boto3.client(service, region_name=REGION, endpoint_url=url, config=config)


CASES = [
    pytest.param("ec2", "describe_vpcs", {}, "throttle", "RequestLimitExceeded", 503, id="ec2"),
    pytest.param("iam", "list_roles", {}, "throttle", "Throttling", 400, id="iam"),
    pytest.param("elbv2", "describe_load_balancers", {}, "throttle", "Throttling", 400, id="elbv2"),
    pytest.param("docdb", "describe_db_clusters", {}, "throttle", "Throttling", 400, id="docdb"),
    pytest.param(
        "elasticache", "describe_replication_groups", {}, "throttle", "Throttling", 400, id="cache"
    ),
    pytest.param("sts", "get_caller_identity", {}, "throttle", "Throttling", 400, id="sts"),
    pytest.param("ecs", "list_clusters", {}, "throttle", "ThrottlingException", 400, id="ecs"),
    pytest.param(
        "ecr", "describe_repositories", {}, "throttle", "ThrottlingException", 400, id="ecr"
    ),
    pytest.param(
        "logs", "describe_log_groups", {}, "throttle", "ThrottlingException", 400, id="logs"
    ),
    pytest.param(
        "secretsmanager", "list_secrets", {}, "throttle", "ThrottlingException", 400, id="secrets"
    ),
    pytest.param("s3", "list_buckets", {}, "throttle", "SlowDown", 503, id="s3"),
    pytest.param(
        "bedrock", "list_foundation_models", {}, "throttle", "ThrottlingException", 429, id="rest"
    ),
    pytest.param("ec2", "describe_vpcs", {}, "error500", "InternalError", 500, id="ec2-500"),
    pytest.param("iam", "list_roles", {}, "error500", "InternalFailure", 500, id="iam-500"),
    pytest.param("ecs", "list_clusters", {}, "error500", "InternalFailure", 500, id="ecs-500"),
    pytest.param(
        "s3",
        "get_bucket_lifecycle_configuration",
        {"Bucket": "acme-prod-storage"},
        "error500",
        "InternalError",
        500,
        id="s3-500",
    ),
]


@pytest.mark.parametrize(("service", "method", "kwargs", "fault", "code", "status"), CASES)
def test_each_fault_has_its_protocols_shape_and_botocore_retries_it(
    service: str, method: str, kwargs: dict[str, Any], fault: str, code: str, status: int
) -> None:
    proxy = FaultProxy("http://127.0.0.1:9", rate=1.0, faults=[fault])
    with proxy, pytest.raises(ClientError) as err:
        getattr(client(service, proxy.url), method)(**kwargs)
    meta = err.value.response["ResponseMetadata"]
    assert err.value.response["Error"]["Code"] == code
    assert meta["HTTPStatusCode"] == status
    assert meta["RetryAttempts"] == 1 and meta["MaxAttemptsReached"], "botocore retried it"
    assert sum(proxy.injected.values()) == 2 == sum(proxy.calls.values())


def test_a_drop_closes_the_connection_and_botocore_retries_it() -> None:
    proxy = FaultProxy("http://127.0.0.1:9", rate=1.0, faults=["drop"])
    with proxy, pytest.raises(ConnectionClosedError):
        client("ec2", proxy.url, attempts=3).describe_vpcs()
    assert proxy.calls == {"ec2:DescribeVpcs": 3}
    assert proxy.injected == {"drop:ec2": 3}


def test_calls_pass_through_and_faults_keep_to_the_services_named(upstream: str) -> None:
    with FaultProxy(upstream, rate=1.0, faults=["throttle"], services=["elbv2"]) as proxy:
        client("logs", proxy.url).describe_log_groups()
        with pytest.raises(ClientError):
            client("elbv2", proxy.url).describe_load_balancers()
    assert proxy.calls == {
        "logs:DescribeLogGroups": 1,
        "elasticloadbalancing:DescribeLoadBalancers": 2,
    }
    assert proxy.injected == {"throttle:elasticloadbalancing": 2}
    assert len(_Stub.seen) == 1


def test_a_lost_answer_reaches_the_upstream_but_never_the_client(upstream: str) -> None:
    with FaultProxy(upstream) as proxy:
        proxy.lose_next_answer("CreateLogGroup")
        with pytest.raises(ConnectionClosedError):
            client("logs", proxy.url, attempts=1).create_log_group(logGroupName="app")
        client("logs", proxy.url, attempts=1).create_log_group(logGroupName="app")
    assert proxy.injected == {"lost:logs:CreateLogGroup": 1}
    assert len(_Stub.seen) == 2, "the lost one was carried out"


def test_moto_api_requests_are_never_faulted(upstream: str) -> None:
    with FaultProxy(upstream, rate=1.0) as proxy:
        request = urllib.request.Request(f"{proxy.url}/moto-api/reset", method="POST", data=b"")
        assert urllib.request.urlopen(request).status == 200
    assert not proxy.injected and not proxy.calls


def test_the_same_seed_draws_the_same_faults() -> None:
    def draws(seed: int) -> list[str]:
        proxy = FaultProxy("http://127.0.0.1:9", rate=0.5, seed=seed)
        return [proxy._decide(Call("ec2", "DescribeVpcs", "ec2")) for _ in range(40)]

    assert draws(7) == draws(7) != draws(8)
    assert {"", "throttle", "error500", "drop"} == set(draws(7))


@pytest.mark.parametrize(
    ("method", "path", "query", "operation"),
    [
        ("PUT", "/acme-prod-storage", {}, "CreateBucket"),
        ("PUT", "/acme-prod-storage", {"lifecycle": [""]}, "PutBucketLifecycleConfiguration"),
        ("DELETE", "/acme-prod-storage", {"lifecycle": [""]}, "DeleteBucketLifecycle"),
        ("GET", "/acme-prod-storage", {"policyStatus": [""]}, "GetBucketPolicyStatus"),
        ("PUT", "/acme-prod-storage", {"publicAccessBlock": [""]}, "PutPublicAccessBlock"),
        ("HEAD", "/acme-prod-storage", {}, "HeadBucket"),
        ("GET", "/acme-prod-storage", {"list-type": ["2"]}, "ListObjectsV2"),
        ("PUT", "/acme-prod-storage/a/b.txt", {}, "PutObject"),
        ("GET", "/", {}, "ListBuckets"),
    ],
)
def test_s3_operations_are_named_from_method_path_and_query(
    method: str, path: str, query: dict[str, list[str]], operation: str
) -> None:
    assert s3_operation(method, path, query, copy=False) == operation
