"""AWS error codes sorted into not-found, terminal and transient."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from botocore.exceptions import ClientError

from controller.errors import TransientError

# Codes that mean "your request is wrong": retrying the same call cannot help.
COMMON_TERMINAL = frozenset(
    {
        "ValidationError",
        "ValidationException",
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "InvalidParameterException",
        "InvalidRequestException",
        "MalformedPolicyDocument",
        "MalformedPolicy",
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "InvalidClientTokenId",
        "LimitExceeded",
        "LimitExceededException",
        "BucketAlreadyExists",
        "InvalidBucketName",
        "EntityAlreadyExists",
        "DependencyViolation",
    }
)


def error_code(err: BaseException) -> str:
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code", ""))
    return ""


def error_message(err: BaseException) -> str:
    """AWS's message; after botocore spent every attempt, led by which call gave up and
    after how many (every error a run reports is worded here, whatever the kind)."""
    message = str(err)
    if isinstance(err, ClientError):
        message = str(err.response.get("Error", {}).get("Message", "")) or message
    from controller.aws.clients import gave_up  # boto3 loads with a run, not at validation

    note = gave_up(err)
    return f"{note}: {message}" if note else message


@contextlib.contextmanager
def ignoring(codes: Iterable[str]) -> Iterator[None]:
    """Swallow the given AWS error codes: on delete, "already gone" is success."""
    try:
        yield
    except ClientError as err:
        if error_code(err) not in set(codes):
            raise


def is_code(err: BaseException, codes: Iterable[str]) -> bool:
    return error_code(err) in set(codes)


@contextlib.contextmanager
def transient_on(codes: Iterable[str]) -> Iterator[None]:
    """Raise these AWS codes as transient: they clear once another resource is gone.

    DependencyViolation is terminal by default (a request that can never work), but while
    a stack is torn down in reverse order it only means a dependent is still going away
    (a NAT gateway takes minutes to release its subnet and address).
    """
    try:
        yield
    except ClientError as err:
        if error_code(err) in set(codes):
            raise TransientError(error_message(err), error_code(err)) from err
        raise
