"""A write whose answer was lost is never retried blindly.

botocore retries a request after a connection closed or reset once the request was sent, a
read timeout and any 5xx. For most calls that is harmless, but not for a call that makes
something new each time it is sent: when the first request reached AWS and only its answer
was lost, the retry makes a second VPC, address or gateway (tagged like the first, so the
stack owns two), or answers "already associated" / "duplicate rule" for what the first one
did, failing a run that had in fact succeeded.

Which calls are guarded is read from the service model, never from a list of kinds:
  - the operation's verb makes a new thing or a new link each time it is sent (Create,
    Allocate, Register, Run, Request, Import, Copy, Associate, Attach, Authorize), and
  - its input has no `idempotencyToken` member. A member with that trait is filled by
    botocore with one uuid per call when plumb leaves it out (and plumb passes the create
    attempt's own token, `client_token()`), so AWS answers a retry with what the first
    request made: those calls keep botocore's retries.
Writes that set a value (Modify, Put, Update, Tag, Delete, ...) answer a repeat as they
answered the first request, so they keep botocore's retries too.

For a guarded call the `needs-retry` handler lets botocore retry what certainly did not
reach AWS (throttling, a connection that could not be opened) and turns every ambiguous
failure into `AmbiguousWrite`, carrying the original error. The apply path
(`controller/engine/apply.py`) then observes by the ownership tags the create set, adopts what it
finds, and only when nothing is there sends the create again, a bounded number of times.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from controller.errors import TransientError

# Verbs whose every call may make a new resource, association or rule.
MINTING_VERBS = frozenset(
    {
        "Create",
        "Allocate",
        "Register",
        "Run",
        "Request",
        "Import",
        "Copy",
        "Associate",
        "Attach",
        "Authorize",
    }
)


@functools.cache
def _not_sent() -> tuple[type[BaseException], ...]:
    """Failures that happen before a byte of the request left: retrying cannot duplicate.
    (botocore is imported here, when a run first needs it, not when a kind registers.)"""
    from botocore.exceptions import (
        ConnectTimeoutError,
        EndpointConnectionError,
        ProxyConnectionError,
    )

    return (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError)


@functools.cache
def _throttled() -> frozenset[str]:
    from botocore.retries.standard import ThrottledRetryableChecker

    return frozenset(ThrottledRetryableChecker._THROTTLED_ERROR_CODES)


# Codes botocore retries although their status is not 5xx; the request may have run.
_TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException"})
# How long to look again after an ambiguous write before concluding nothing was made: EC2
# reads are eventually consistent, so a resource made a moment ago may not be listed yet.
SETTLE: tuple[float, ...] = (0.0, 1.0)
# A write sent at most this many times per resource and run when its answers keep getting lost.
WRITE_TRIES = 8

T = TypeVar("T")


class AmbiguousWrite(TransientError):
    """A guarded write failed after its request may have reached AWS; not retried."""

    def __init__(self, service: str, operation: str, original: BaseException) -> None:
        self.service, self.operation, self.original = service, operation, original
        super().__init__(
            f"the answer to {service} {operation} was lost ({type(original).__name__}: "
            f"{original}); it may have happened, so plumb observes before sending it again",
            "AmbiguousWrite",
        )


def guard(client: Any) -> None:
    """Attach the veto to one boto3 client, ahead of botocore's own retry handler."""
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"needs-retry.{service}", _veto)


def needs_guard(operation: Any) -> bool:
    """True for an operation that may make something new each time it is sent."""
    key = (operation.service_model.service_name, operation.name)
    if key not in _GUARDED:
        verb = re.match(r"[A-Z][a-z]*", operation.name)
        _GUARDED[key] = (
            verb is not None and verb.group() in MINTING_VERBS and not operation.idempotent_members
        )
    return _GUARDED[key]


_GUARDED: dict[tuple[str, str], bool] = {}


def is_ambiguous(response: Any = None, caught_exception: BaseException | None = None) -> bool:
    """May the failed request have been carried out by AWS?"""
    if caught_exception is not None:
        return not isinstance(caught_exception, _not_sent())
    if response is None:
        return False
    http, parsed = response
    code = str((parsed or {}).get("Error", {}).get("Code", ""))
    if code in _throttled():
        return False
    return http.status_code >= 500 or code in _TRANSIENT_CODES


def _veto(
    operation: Any = None,
    response: Any = None,
    caught_exception: BaseException | None = None,
    **_: Any,
) -> None:
    if operation is None or not needs_guard(operation):
        return None
    if not is_ambiguous(response, caught_exception):
        return None  # botocore decides, as for any other call
    original = caught_exception or _client_error(response, operation.name)
    raise AmbiguousWrite(operation.service_model.service_name, operation.name, original)


def _client_error(response: Any, operation: str) -> BaseException:
    from botocore.exceptions import ClientError

    http, parsed = response
    parsed = dict(parsed or {})
    parsed.setdefault("Error", {"Code": str(http.status_code), "Message": ""})
    return ClientError(parsed, operation)


# -- the create attempt ------------------------------------------------------------------

_attempt: ContextVar[str | None] = ContextVar("plumb_create_attempt", default=None)


@contextlib.contextmanager
def create_attempt() -> Iterator[str]:
    """One attempt to bring one resource to its spec: every create it sends carries the
    same client token, however often botocore or plumb sends it again, and the next
    attempt (a later run, or after the resource was deleted) gets a new one, so AWS never
    answers it with a resource made for an earlier attempt."""
    token = uuid.uuid4().hex
    previous = _attempt.set(token)
    try:
        yield token
    finally:
        _attempt.reset(previous)


def client_token(limit: int = 64) -> str:
    """The current create attempt's idempotency token (a fresh one outside an attempt),
    cut to the API's limit (ECS takes 36 characters)."""
    return f"plumb-{_attempt.get() or uuid.uuid4().hex}"[:limit]


def settle(find: Callable[[], T | None], pauses: Sequence[float] = SETTLE) -> T | None:
    """What an ambiguous write left: look now, and again after each pause while nothing is
    seen."""
    for pause in pauses:
        time.sleep(pause)
        found = find()
        if found is not None:
            return found
    return None
