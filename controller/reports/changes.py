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
        unordered=bool(field.get("unordered")),
    )


def _flatten(path: str, value: Any) -> list[tuple[str, Any]]:
    """Nested mappings and lists of mappings opened into paths, so nothing is cut off."""
    if isinstance(value, Mapping) and value:
        return [p for k, v in value.items() for p in _flatten(f"{path}.{k}", v)]
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return [p for i, v in enumerate(value) for p in _flatten(f"{path}[{i}]", v)]
    return [(path, value)]


def value_text(value: Any) -> str:
    """A value whole: a line a reviewer must read is never cut short."""
    if value is UNKNOWN:
        return KNOWN_AFTER_APPLY
    if isinstance(value, str) and value in MARKERS:
        return value
    if value is None:
        return "(none)"
    return json.dumps(value, sort_keys=True, default=str)


def change_lines(change: FieldChange) -> list[str]:
    """A field's change; dicts and lists are opened up so one extra entry is visible."""
    if change.sensitive:
        return [f"{change.path}: (sensitive)"]
    before, after = change.before, change.after
    if change.unordered and isinstance(after, list) and isinstance(before, list | None):
        return _member_lines(change.path, before or [], after)
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        lines = []
        for key in sorted(set(before) | set(after), key=str):
            if key not in after:
                lines.append(f"- {change.path}.{key}: {value_text(before[key])}")
            elif key not in before:
                lines.append(f"+ {change.path}.{key}: {value_text(after[key])}")
            elif before[key] != after[key]:
                lines += change_lines(FieldChange(f"{change.path}.{key}", before[key], after[key]))
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
    lists = isinstance(before, list) and isinstance(after, list) and before and after
    if lists and (any(v not in after for v in before) or any(v not in before for v in after)):
        return _member_lines(change.path, before, after)
    if before is None:
        return [f"+ {path}: {value_text(v)}" for path, v in _flatten(change.path, after)]
    suffix = "  (forces replacement)" if change.immutable else ""
    return [f"{change.path}: {value_text(before)} → {value_text(after)}{suffix}"]


def _member_lines(path: str, before: list[Any], after: list[Any]) -> list[str]:
    """A set's change as the members removed (-) and added (+), one line each, whole."""
    gone = sorted(value_text(v) for v in before if v not in after)
    new = sorted(value_text(v) for v in after if v not in before)
    return [f"- {path}: {text}" for text in gone] + [f"+ {path}: {text}" for text in new]
