"""Field rules, declared once in each kind's JSON Schema (how each rule compares: comparators.py).

"cidr":   {"type": "string", "x-plumb-immutable": true}      change -> replace
"rules":  {"type": "array",  "x-plumb-compare": "set"}       order and repeats ignored
"policy": {"type": "object", "x-plumb-compare": "policy"}    IAM/S3 document, normalized
"inline": {"type": "object", "x-plumb-compare": "exact"}     keys AWS has that the spec
                                                             lacks are drift too
"engine": {"type": "string", "x-plumb-compare": "version"}   "7.1" matches "7.1.4"
"engine": {"x-plumb-compare": "version-at-least"}            "5.0.0" matches AWS's own
                                                             upgrade to "5.0.1"
"token":  {"type": "string", "writeOnly": true}              never read back or shown
"key":    {"type": "string", "x-plumb-sensitive": true}      compared, never shown: every
                                                             plan, report, log and the
                                                             state show "(sensitive)"
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.errors import PlumbError
from controller.kinds.comparators import COMPARATORS, COMPARE_RULES, Comparator, exactly_equal
from controller.kinds.document import Path as DocPath
from controller.model import SENSITIVE

NOT_KINDS = frozenset({"envelope", "report", "period"})  # schemas/ files that describe no kind


class SchemaRuleError(PlumbError):
    """A schema names a field rule plumb does not have: a bug in the schema, found at load."""


@dataclass(frozen=True)
class FieldRule:
    immutable: bool = False
    compare: str = ""
    write_only: bool = False
    sensitive: bool = False  # writeOnly or x-plumb-sensitive: its value is never shown


NO_RULE = FieldRule()


class FieldRules:
    """Rules by field path; array items share one rule, written with "[]" in the path."""

    def __init__(self, rules: Mapping[tuple[str, ...], FieldRule] | None = None) -> None:
        self._rules = dict(rules or {})

    @classmethod
    def from_schema(cls, schema: Mapping[str, Any], name: str = "schema") -> FieldRules:
        rules: dict[tuple[str, ...], FieldRule] = {}
        _walk(schema, (), rules)
        for path, rule in rules.items():
            if rule.compare and rule.compare not in COMPARE_RULES:
                raise SchemaRuleError(
                    f"{name}: {'.'.join(path)}: x-plumb-compare '{rule.compare}' is not a rule "
                    f"plumb knows (one of: {', '.join(sorted(COMPARE_RULES))})"
                )
        return cls(rules)

    def rule(self, path: DocPath) -> FieldRule:
        key = tuple("[]" if isinstance(p, int) else p for p in path)
        return self._rules.get(key, NO_RULE)

    def sensitive_paths(self) -> list[str]:
        """The fields whose values are never shown, dotted ("[]" any item, "*" any key)."""
        return sorted(".".join(p) for p, rule in self._rules.items() if rule.sensitive)

    def masks(self, dotted: str, holding: bool = True) -> bool:
        """True when a change at `dotted` shows a sensitive value: the path is a sensitive
        field, lies under one, or (`holding`) holds one (a whole object created at once)."""
        parts = tuple(re.findall(r"[^.\[\]]+|\[\d+\]", dotted))
        for path, rule in self._rules.items():
            deep_enough = holding or len(parts) >= len(path)
            if rule.sensitive and deep_enough and all(map(_step_matches, path, parts)):
                return True
        return False

    def redact(self, spec: Any, dotted: str = "") -> Any:
        """`spec` (as observed) with every sensitive field's value "(sensitive)"."""
        if dotted and self.masks(dotted, holding=False):
            return SENSITIVE
        if isinstance(spec, Mapping):
            return {
                k: self.redact(v, f"{dotted}.{k}" if dotted else str(k)) for k, v in spec.items()
            }
        if isinstance(spec, list):
            return [self.redact(v, f"{dotted}[{i}]") for i, v in enumerate(spec)]
        return spec

    def inherited(self, path: DocPath, attr: str) -> bool:
        """True when `path` or one of its ancestors sets the boolean rule `attr`."""
        return any(getattr(self.rule(path[:end]), attr) for end in range(len(path), 0, -1))


def _walk(
    schema: Mapping[str, Any], path: tuple[str, ...], out: dict[tuple[str, ...], FieldRule]
) -> None:
    rule = FieldRule(
        immutable=bool(schema.get("x-plumb-immutable")),
        compare=str(schema.get("x-plumb-compare", "")),
        write_only=bool(schema.get("writeOnly")),
        sensitive=bool(schema.get("writeOnly") or schema.get("x-plumb-sensitive")),
    )
    if path and rule != NO_RULE:
        out[path] = rule
    for name, sub in (schema.get("properties") or {}).items():
        _walk(sub, (*path, name), out)
    if isinstance(schema.get("additionalProperties"), Mapping):
        _walk(schema["additionalProperties"], (*path, "*"), out)
    if isinstance(schema.get("items"), Mapping):
        _walk(schema["items"], (*path, "[]"), out)


# -- schemas --------------------------------------------------------------------------


def schema_dir() -> Path:
    """schemas/ beside the source tree, or where the wheel installed it."""
    import sys

    here = Path(__file__).resolve().parents[2] / "schemas"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "plumb" / "schemas"


def snake(kind: str) -> str:
    """ "SomeKind" -> "some_kind"."""
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in kind)
    return out.lstrip("_")


@functools.cache
def schema_for(kind: str) -> Mapping[str, Any]:
    path = schema_dir() / f"{snake(kind)}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def sensitive_fields() -> dict[str, list[str]]:
    """Every kind's sensitive fields, from the schemas: the redaction contract tests use."""
    out = {}
    for path in sorted(schema_dir().glob("*.json")):
        kind = json.loads(path.read_text()).get("title", "")
        if path.stem in NOT_KINDS or not kind:
            continue
        found = FieldRules.from_schema(schema_for(kind), path.name).sensitive_paths()
        if found:
            out[kind] = found
    return out


def _step_matches(rule: str, part: str) -> bool:
    if rule == "[]":
        return part.startswith("[")
    return rule == "*" or rule == part


def schema_defaults(kind: str, *path: str) -> dict[str, Any]:
    """The defaults the kind's schema declares for the properties of the object at `path`
    (nested objects filled in too): what a create writes for fields an expanded spec leaves
    out, so the schema stays the one place a default is written down."""
    node: Mapping[str, Any] = schema_for(kind)
    for name in path:
        node = node.get("properties", {}).get(name, {})
    return _defaults_of(node)


def _defaults_of(node: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in (node.get("properties") or {}).items():
        if "default" not in sub:
            continue
        value = sub["default"]
        if isinstance(value, Mapping):
            value = {**_defaults_of(sub), **value}
        out[name] = value
    return out


@functools.cache
def rules_for(kind: str) -> FieldRules:
    return FieldRules.from_schema(schema_for(kind), f"schemas/{snake(kind)}.json")


def comparator(rule: FieldRule) -> Comparator:
    """The comparator a field's rule names; a field with no rule is compared exactly."""
    return COMPARATORS[rule.compare] if rule.compare else exactly_equal
