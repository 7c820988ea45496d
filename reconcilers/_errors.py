"""AWS error codes sorted into not-found, terminal and transient."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from botocore.exceptions import ClientError

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
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Message", "")) or str(err)
    return str(err)


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
