"""Left-scoped diff: only the fields the spec manages are compared.

Paths the spec leaves out are AWS's business, never drift. Values are normalized to one
shape on both sides (policies parsed, sets sorted, versions by prefix) before comparing,
and deepdiff decides equality of the structured values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from controller.kinds.document import Path, dotted
from controller.kinds.fields import FieldRules, comparator, rules_for
from controller.model import UNKNOWN, Diff, FieldChange, Observed, Resource, contains_unknown

_MISSING = None  # a field AWS does not report reads as absent, i.e. None


def diff(desired: Resource, observed: Observed, rules: FieldRules | None = None) -> Diff:
    """What must change in AWS for `observed` to match `desired`."""
    rules = rules or rules_for(desired.kind)
    changes: list[FieldChange] = []
    for key, want in desired.spec.items():
        _compare(want, observed.spec.get(key, _MISSING), (key,), rules, changes)
    _compare_tags(desired.ownership_tags(), dict(observed.tags), changes)
    return Diff(masked(changes, rules))


def masked(changes: list[FieldChange], rules: FieldRules) -> tuple[FieldChange, ...]:
    """The changes, those on a sensitive field (x-plumb-sensitive, writeOnly) marked so:
    compared as any other, shown as "(sensitive)" everywhere."""
    return tuple(
        dataclasses.replace(c, sensitive=True) if rules.masks(c.path) else c for c in changes
    )


def _compare(want: Any, have: Any, path: Path, rules: FieldRules, out: list[FieldChange]) -> None:
    rule = rules.rule(path)
    if rules.inherited(path, "write_only"):
        return
    immutable = rules.inherited(path, "immutable")
    if contains_unknown(want):
        out.append(FieldChange(dotted(path), have, UNKNOWN, immutable))
        return
    if isinstance(want, Mapping) and rule.compare in ("", "exact"):
        if rule.compare == "exact":
            _compare_exact_map(want, have, path, rules, out, immutable)
            return
        # Left scope: keys the spec names are compared, the rest belong to AWS.
        have_map = have if isinstance(have, Mapping) else {}
        for key, value in want.items():
            _compare(value, have_map.get(key, _MISSING), (*path, key), rules, out)
        return
    if not comparator(rule)(want, have):
        unordered = rule.compare == "set"
        out.append(FieldChange(dotted(path), have, want, immutable, unordered=unordered))


def _compare_exact_map(
    want: Mapping[str, Any],
    have: Any,
    path: Path,
    rules: FieldRules,
    out: list[FieldChange],
    immutable: bool,
) -> None:
    """Every key on either side counts: an extra inline policy is drift (privilege creep)."""
    have_map = have if isinstance(have, Mapping) else {}
    for key in sorted(set(want) | set(have_map)):
        w, h = want.get(key), have_map.get(key)
        named = rules.rule((*path, key))
        if not comparator(named if named.compare else rules.rule((*path, "*")))(w, h):
            out.append(FieldChange(dotted((*path, key)), h, w, immutable))


def _compare_tags(want: dict[str, str], have: dict[str, str], out: list[FieldChange]) -> None:
    """plumb owns the tag set of what it creates; only AWS's reserved `aws:` tags are exempt."""
    have_user = {k: v for k, v in have.items() if not k.startswith("aws:")}
    if have_user != want:
        out.append(FieldChange("tags", have_user, want))
