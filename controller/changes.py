"""A field's change as lines a person reads: the same in the plan, the drift command and
every report. Nested documents are opened into paths, so one extra action in a policy is
its own line, and nothing a reviewer must see is cut off.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from controller.model import SENSITIVE, UNKNOWN, FieldChange

KNOWN_AFTER_APPLY = "(known after apply)"
# How values that are not values arrive from a stored diff: shown bare, never quoted.
MARKERS = frozenset({SENSITIVE, KNOWN_AFTER_APPLY})


def from_json(field: Mapping[str, Any]) -> FieldChange:
    """A FieldChange back from its stored form (FieldChange.to_json)."""
    return FieldChange(
        str(field["path"]),
        field.get("before"),
        field.get("after"),
        immutable=bool(field.get("immutable")),
    )


MAX_VALUE = 110


def _flatten(path: str, value: Any) -> list[tuple[str, Any]]:
    """Nested mappings and lists of mappings opened into paths, so nothing is cut off."""
    if isinstance(value, Mapping) and value:
        return [p for k, v in value.items() for p in _flatten(f"{path}.{k}", v)]
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return [p for i, v in enumerate(value) for p in _flatten(f"{path}[{i}]", v)]
    return [(path, value)]


def value_text(value: Any, limit: int = MAX_VALUE) -> str:
    if value is UNKNOWN:
        return KNOWN_AFTER_APPLY
    if isinstance(value, str) and value in MARKERS:
        return value
    if value is None:
        return "(none)"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if not limit or len(text) <= limit else text[: limit - 1] + "…"


def change_lines(change: FieldChange) -> list[str]:
    """A field's change; dicts and lists are opened up so one extra entry is visible."""
    if change.sensitive:
        return [f"{change.path}: (sensitive)"]
    before, after = change.before, change.after
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        lines = []
        for key in sorted(set(before) | set(after), key=str):
            if before.get(key) != after.get(key):
                lines += change_lines(
                    FieldChange(f"{change.path}.{key}", before.get(key), after.get(key))
                )
        return lines or [f"{change.path}: {value_text(before)} → {value_text(after)}"]
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and len(before) == len(after)
        and all(isinstance(v, Mapping) for v in [*before, *after])
    ):
        # Same-length lists of documents (policy statements): show what changed inside each.
        return [
            line
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            if b != a
            for line in change_lines(FieldChange(f"{change.path}[{i}]", b, a))
        ]
    if isinstance(before, list) and isinstance(after, list) and before and after:
        gone = [v for v in before if v not in after]
        new = [v for v in after if v not in before]
        if gone or new:
            return [f"{change.path}: - {value_text(v)}" for v in gone] + [
                f"{change.path}: + {value_text(v)}" for v in new
            ]
    if before is None:
        return [f"{path}: {value_text(v, limit=0)}" for path, v in _flatten(change.path, after)]
    suffix = "  (forces replacement)" if change.immutable else ""
    return [f"{change.path}: {value_text(before)} → {value_text(after)}{suffix}"]
