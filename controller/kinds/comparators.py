"""How two values of a field are compared: the normalizers and comparators a field's
`x-plumb-compare` rule names (controller/kinds/fields.py reads the rules from the schemas)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

# -- normalizers ----------------------------------------------------------------------


def normalize_policy(doc: Any) -> Any:
    """One shape for a policy document: parsed, Statement a list, scalars as sorted lists."""
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            return doc
    if not isinstance(doc, Mapping):
        return doc
    out = dict(doc)
    statements = out.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    out["Statement"] = sorted((_normalize_statement(s) for s in statements), key=_canonical)
    out.setdefault("Version", "2012-10-17")
    return out


_LIST_KEYS = {"Action", "NotAction", "Resource", "NotResource"}


def _normalize_statement(statement: Any) -> Any:
    if not isinstance(statement, Mapping):
        return statement
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key in _LIST_KEYS:
            out[key] = sorted({value} if isinstance(value, str) else set(value))
        elif key == "Principal" and isinstance(value, Mapping):
            out[key] = {k: _as_sorted_list(v) for k, v in value.items()}
        elif key == "Condition" and isinstance(value, Mapping):
            out[key] = {
                op: {k: _as_sorted_list(v) for k, v in cond.items()} for op, cond in value.items()
            }
        elif key == "Sid" and not value:
            continue
        else:
            out[key] = value
    return out


def _as_sorted_list(value: Any) -> Any:
    if isinstance(value, str | bool | int):
        return [str(value).lower() if isinstance(value, bool) else str(value)]
    if isinstance(value, list):
        return sorted(str(v) for v in value)
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def normalize_set(items: Any) -> Any:
    if not isinstance(items, list | tuple):
        return items
    return sorted({_canonical(i): i for i in items}.values(), key=_canonical)


def version_matches(want: Any, have: Any) -> bool:
    """ "7.1" asked for is satisfied by "7.1" or any "7.1.x" that AWS reports."""
    if want is None or have is None:
        return bool(want == have)
    w, h = str(want), str(have)
    return h == w or h.startswith(w + ".")


# -- comparators ------------------------------------------------------------------------

Comparator = Callable[[Any, Any], bool]  # (want, have) -> equal


def _policies_equal(want: Any, have: Any) -> bool:
    from deepdiff import DeepDiff  # 0.3 s to import: `plumb validate` never needs it

    return not DeepDiff(normalize_policy(have), normalize_policy(want), ignore_order=True)


def _sets_equal(want: Any, have: Any) -> bool:
    from deepdiff import DeepDiff  # 0.3 s to import: `plumb validate` never needs it

    return not DeepDiff(normalize_set(have or []), normalize_set(want or []), ignore_order=True)


def exactly_equal(want: Any, have: Any) -> bool:
    from deepdiff import DeepDiff  # 0.3 s to import: `plumb validate` never needs it

    return not DeepDiff(have, want)


def version_at_least(want: Any, have: Any) -> bool:
    """ "5.0.0" asked for is satisfied by a later version of the same major that AWS upgraded
    to on its own ("5.0.1"), never by an earlier one or another major."""
    if want is None or have is None:
        return bool(want == have)
    w, h = _version_parts(want), _version_parts(have)
    if w is None or h is None:
        return str(want) == str(have)
    return h[:1] == w[:1] and h >= w


def _version_parts(value: Any) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in str(value).split("."))
    except ValueError:
        return None


# x-plumb-compare name -> how two values of such a field are compared. "exact" on an object
# is also a rule of scope (keys AWS has that the spec lacks count), which diff.py applies.
COMPARATORS: dict[str, Comparator] = {
    "policy": _policies_equal,
    "set": _sets_equal,
    "version": version_matches,
    "version-at-least": version_at_least,
    "exact": exactly_equal,
}
COMPARE_RULES = frozenset(COMPARATORS)
