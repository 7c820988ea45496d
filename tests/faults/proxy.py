"""A fault-injecting HTTP proxy in front of the moto server: a busy, flaky AWS on loopback.

plumb leaves retries to botocore (docs/design.md, Kinds and retries), so the way to test
them is to make AWS misbehave as AWS does. `FaultProxy` forwards every request to the moto
server it is given and, for a share of them, answers instead with a fault in the shape the
request's protocol really uses, so botocore's retry handler (`botocore/retries/standard.py`)
treats it exactly as it would AWS's own:

- `throttle`: EC2 `RequestLimitExceeded` (503), the other query services `Throttling`
  (400), JSON services `ThrottlingException` (400), S3 `SlowDown` (503): every one is in
  `ThrottledRetryableChecker`'s list, and the 503s are transient by status as well;
- `error500`: HTTP 500 with `InternalError`/`InternalFailure`: transient by status;
- `drop`: the connection closes before anything is forwarded or answered, which botocore
  sees as `ConnectionClosedError`, a retryable `HTTPClientError`.

None of these faults reaches moto, so none of them can make a resource twice. The one that
does reach it is `lose_next_answer`: the request is forwarded, moto acts on it, and its
answer is never sent (a create whose answer was lost: docs/design.md, Ownership and lost
answers).

Services are the SigV4 credential scope's names (`ec2`, `iam`, `elasticloadbalancing`,
`rds` for DocumentDB, `elasticache`, `sts`, `ecs`, `ecr`, `logs`, `secretsmanager`, `s3`),
operations botocore's (`CreateVpc`); S3's are inferred, coarsely, from method, path and
query. Faults are drawn from `random.Random(seed)`: the same requests in the same order get
the same faults (threads may of course order them differently).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import re
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULTS = ("throttle", "error500", "drop")
# boto3's service names where the SigV4 scope spells them differently.
SIGNING_NAMES = {"elbv2": "elasticloadbalancing", "docdb": "rds", "neptune": "rds"}

_CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "content-length",
    }
)

# (HTTP status, code, message) per fault and protocol, as the real services send them.
_SHAPES: dict[str, dict[str, tuple[int, str, str]]] = {
    "throttle": {
        "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
        "query": (400, "Throttling", "Rate exceeded"),
        "json": (400, "ThrottlingException", "Rate exceeded"),
        "rest-json": (429, "ThrottlingException", "Rate exceeded"),
        "s3": (503, "SlowDown", "Please reduce your request rate."),
    },
    "error500": {
        "ec2": (500, "InternalError", "An internal error has occurred."),
        "query": (500, "InternalFailure", "The request processing has failed."),
        "json": (500, "InternalFailure", "The request processing has failed."),
        "rest-json": (500, "InternalFailure", "The request processing has failed."),
        "s3": (500, "InternalError", "We encountered an internal error. Please try again."),
    },
}


@dataclass(frozen=True)
class Call:
    """One request as the proxy sees it: whose it is, and in which protocol it speaks."""

    service: str
    operation: str
    protocol: str  # "ec2", "query", "json", "rest-json" or "s3"

    @property
    def key(self) -> str:
        return f"{self.service}:{self.operation}"


class FaultProxy:
    """A threaded HTTP/1.1 proxy on 127.0.0.1 that injects faults into a share of calls.

    `rate` is the share of calls that get a fault, drawn from `faults`; `services` (an
    addition: empty means all) limits the faults to those services. Each operation named in
    `lose_answer_to` is armed once at the start, as by `lose_next_answer`.
    `injected` counts faults as `fault:service` (`lost:service:Operation` for lost
    answers), `calls` every request seen as `service:Operation`, and `history` lists every
    request in order as `(service:Operation, fault)`, fault "" for none.
    """

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.0,
        faults: Sequence[str] = FAULTS,
        seed: int = 0,
        lose_answer_to: Collection[str] = (),
        services: Collection[str] = (),
    ) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; expected some of {FAULTS}")
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rate = rate
        self.faults = tuple(faults)
        self.services = frozenset(SIGNING_NAMES.get(s, s) for s in services)
        self.url = ""
        self.injected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        # Every request in the order seen, with the fault it got ("" for none).
        self.history: list[tuple[str, str]] = []
        self._armed: Counter[str] = Counter(lose_answer_to)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> str:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fault-proxy", daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:  # idle keep-alive connections still hold a thread each
            _close(sock)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- faults ------------------------------------------------------------------------

    def lose_next_answer(self, operation: str) -> None:
        """Arm: the next request for `operation` reaches moto, but its answer is never sent."""
        with self._lock:
            self._armed[operation] += 1

    def _decide(self, call: Call) -> str:
        """The fault for this call ("" for none), counted under the lock."""
        with self._lock:
            self.calls[call.key] += 1
            fault = self._draw(call)
            if fault == "lost":
                self.injected[f"lost:{call.key}"] += 1
            elif fault:
                self.injected[f"{fault}:{call.service}"] += 1
            self.history.append((call.key, fault))
            return fault

    def _draw(self, call: Call) -> str:
        if self._armed[call.operation] > 0:
            self._armed[call.operation] -= 1
            return "lost"
        if not self.faults or (self.services and call.service not in self.services):
            return ""
        if self._rng.random() >= self.rate:
            return ""
        return self._rng.choice(self.faults)

    # -- one request -------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        body = _read_body(handler)
        if urlsplit(handler.path).path.startswith("/moto-api/"):
            self._reply(handler, *self._forward(handler, body))
            return
        call = identify(handler.command, handler.path, handler.headers, body)
        fault = self._decide(call)
        if fault == "drop":
            handler.close_connection = True  # no answer at all: the client sees a closed socket
            return
        if fault in _SHAPES:
            self._reply(handler, *fault_response(fault, call))
            return
        answer = self._forward(handler, body)
        if fault == "lost":
            handler.close_connection = True
            return
        self._reply(handler, *answer)

    def _forward(self, handler: _Handler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
            if body or handler.command in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            conn.request(handler.command, handler.path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
            if handler.command == "HEAD":  # no body, but the length of the one it would have
                kept.append(("Content-Length", resp.getheader("Content-Length") or "0"))
            return resp.status, kept, payload
        finally:
            conn.close()

    def _reply(
        self, handler: _Handler, status: int, headers: list[tuple[str, str]], payload: bytes
    ) -> None:
        handler.send_response_only(status)
        for key, value in headers:
            handler.send_header(key, value)
        if handler.command != "HEAD":
            handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

    def _opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)


# -- what a request is ---------------------------------------------------------------------


def identify(method: str, target: str, headers: Message, body: bytes) -> Call:
    """Service from the SigV4 scope; operation from the protocol's own place for it."""
    parts = urlsplit(target)
    query = parse_qs(parts.query, keep_blank_values=True)
    scope = _CREDENTIAL.search(headers.get("Authorization", "") or "")
    if scope is None:  # a presigned URL carries its scope in the query
        scope = _CREDENTIAL.search("Credential=" + query.get("X-Amz-Credential", [""])[0])
    service = scope.group(1) if scope else "unknown"
    target_header = headers.get("X-Amz-Target")
    if target_header:
        return Call(service, target_header.rsplit(".", 1)[-1], "json")
    action = query.get("Action") or _form(headers, body).get("Action")
    if action:
        return Call(service, action[0], "ec2" if service == "ec2" else "query")
    if service == "s3":
        copy = "x-amz-copy-source" in headers
        return Call(service, s3_operation(method, parts.path, query, copy), "s3")
    return Call(service, f"{method} {parts.path}", "rest-json")


def _form(headers: Message, body: bytes) -> dict[str, list[str]]:
    if "x-www-form-urlencoded" not in (headers.get("Content-Type") or ""):
        return {}
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


_S3_SUBRESOURCES = {
    "lifecycle": "BucketLifecycleConfiguration",
    "policyStatus": "BucketPolicyStatus",
    "policy": "BucketPolicy",
    "tagging": "BucketTagging",
    "publicAccessBlock": "PublicAccessBlock",
    "encryption": "BucketEncryption",
    "versioning": "BucketVersioning",
    "ownershipControls": "BucketOwnershipControls",
    "acl": "BucketAcl",
    "cors": "BucketCors",
    "location": "BucketLocation",
    "logging": "BucketLogging",
    "website": "BucketWebsite",
    "notification": "BucketNotificationConfiguration",
    "replication": "BucketReplication",
    "object-lock": "ObjectLockConfiguration",
    "accelerate": "BucketAccelerateConfiguration",
    "requestPayment": "BucketRequestPayment",
}
_VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}
_S3_BUCKET = {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}
_S3_OBJECT = {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject"}
_S3_BUCKET_LISTS = {
    "delete": "DeleteObjects",
    "versions": "ListObjectVersions",
    "uploads": "ListMultipartUploads",
}


def s3_operation(method: str, path: str, query: dict[str, list[str]], copy: bool) -> str:
    """A coarse S3 operation name from a path-style request (`/bucket/key?sub`)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "ListBuckets" if method == "GET" else f"{method} /"
    verb = _VERBS.get(method, method)
    if len(parts) > 1:
        if "tagging" in query:
            return f"{verb}ObjectTagging"
        if method == "POST" and "uploads" in query:
            return "CreateMultipartUpload"
        if method == "PUT" and copy:
            return "CopyObject"
        return _S3_OBJECT.get(method, f"{verb}Object")
    for name, shape in _S3_SUBRESOURCES.items():
        if name in query:
            if method == "DELETE" and name == "lifecycle":
                return "DeleteBucketLifecycle"
            return f"{verb}{shape}"
    for name, operation in _S3_BUCKET_LISTS.items():
        if name in query:
            return operation
    if method == "GET":
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    return _S3_BUCKET.get(method, f"{verb}Bucket")


# -- what a fault looks like ---------------------------------------------------------------


def fault_response(fault: str, call: Call) -> tuple[int, list[tuple[str, str]], bytes]:
    """`fault` ("throttle" or "error500") as `call`'s service would answer it."""
    status, code, message = _SHAPES[fault][call.protocol]
    rid = str(uuid.uuid4())
    if call.protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
            f"</Error></Errors><RequestID>{rid}</RequestID></Response>"
        )
        return status, [("Content-Type", "text/xml;charset=UTF-8")], _xml(body)
    if call.protocol == "query":
        side = "Receiver" if status >= 500 else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{side}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
        )
        return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], _xml(body)
    if call.protocol == "s3":
        body = (
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>"
        )
        return status, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], _xml(body)
    kind = "application/x-amz-json-1.1" if call.protocol == "json" else "application/json"
    headers = [("Content-Type", kind), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", rid)]
    return status, headers, json.dumps({"__type": code, "message": message}).encode()


def _xml(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


# -- plumbing ------------------------------------------------------------------------------


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The whole request body, whether sized or chunked; read even for a fault, so the
    connection is closed cleanly, not reset over unread bytes."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline(65537).strip():  # trailers, then a blank line
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the client
        sock.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.proxy._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.proxy._closed(self.connection)

    def _serve(self) -> None:
        self.server.proxy._serve(self)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per request would bury the test's own output."""
