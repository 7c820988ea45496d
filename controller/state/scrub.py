"""What may enter the state: secret-looking values are replaced before anything is stored."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from controller.model import SENSITIVE, UNKNOWN

# -- what may enter the state ----------------------------------------------------------------
#
# Secret values never reach the state. Reconcilers already return writeOnly fields as
# "(sensitive)" and FieldChange.to_json() masks them; scrub() is the second line of defence.
# A string under a key that names a secret (secret, password, passwd, token, apikey,
# privatekey; case, "_" and "-" ignored) is replaced by "(sensitive)" unless it is only a
# pointer to a secret: an ARN, a lowercase path-like name with a "/" ("acme/prod/azure-key"),
# a plumb marker, or the value of a key ending in arn/name/id/ref/from ("secretArn",
# "valueFrom"). Each key is judged on its own name; numbers and booleans are kept.

_SECRET_KEY = re.compile(r"secret|password|passwd|token|apikey|privatekey")
_POINTER_KEY = re.compile(r"(arn|name|id|ref|from)$")
_SECRET_NAME = re.compile(r"[a-z0-9][a-z0-9._+=@-]*(/[a-z0-9][a-z0-9._+=@-]*)+")
_MARKERS = frozenset({SENSITIVE, repr(UNKNOWN), ""})


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="microseconds") if value else None


def scrub(value: Any, key: str = "") -> Any:
    if isinstance(value, Mapping):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, key) for v in value]
    if isinstance(value, str) and _names_secret(key) and not _is_pointer(key, value):
        return SENSITIVE
    return value


def scrub_change(change: dict[str, Any]) -> dict[str, Any]:
    """A FieldChange.to_json() with secret-looking values masked, judged by the field name."""
    key = str(change.get("path", "")).rsplit(".", 1)[-1]
    return {
        **change,
        "before": scrub(change.get("before"), key),
        "after": scrub(change.get("after"), key),
    }


def _names_secret(key: str) -> bool:
    return bool(_SECRET_KEY.search(_squash(key)))


def _is_pointer(key: str, value: str) -> bool:
    return (
        value in _MARKERS
        or value.startswith("arn:")
        or bool(_POINTER_KEY.search(_squash(key)))
        or bool(_SECRET_NAME.fullmatch(value))
    )


def _squash(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def plain(value: Any) -> Any:
    """`value` as JSON gives it back, so what is hashed is what the database returns."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if value is UNKNOWN:
        return repr(UNKNOWN)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)
