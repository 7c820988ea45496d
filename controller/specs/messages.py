"""What a problem in a spec says, and where: jsonschema errors in a user's words, at the
path they concern; an issue at a document's path; the name a typo was close to."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match

from controller.errors import SpecIssue
from controller.kinds.document import Document, Path
from controller.specs.credentials import shown_path

_BOUNDS = {
    "minimum": "must be at least {}",
    "maximum": "must be at most {}",
    "exclusiveMinimum": "must be more than {}",
    "exclusiveMaximum": "must be less than {}",
    "minItems": "must have at least {} item(s)",
    "maxItems": "must have at most {} item(s)",
    "minLength": "must be at least {} characters long",
    "maxLength": "must be at most {} characters long",
    "minProperties": "must have at least {} entries",
    "maxProperties": "must have at most {} entries",
}


_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (Mapping, "object"),
    (type(None), "nothing"),
)


def explain(error: ValidationError) -> list[tuple[Path, str]]:
    """One jsonschema error in a user's words, at the path it concerns.

    Values are never quoted back (a misplaced secret must not reach a log), except keys
    and the fixed choices of an enum.
    """
    path: Path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    said = schema.get("x-plumb-message")
    rule, want = error.validator, error.validator_value
    if "propertyNames" in error.absolute_schema_path:
        key = str(error.instance)
        return [((*path, key), f"'{key}' {said or 'is not allowed as a key here'}")]
    if rule == "required":
        return [
            (path, f"missing required field '{name}'")
            for name in want
            if name not in error.instance
        ]
    if rule == "additionalProperties":
        return [((*path, key), _unknown(key, schema)) for key in _extra_keys(schema, error)]
    if rule == "type":
        return [(path, _type_message(want, error.instance))]
    if rule in ("pattern", "format"):
        return [(path, said or f"is not a valid {want if rule == 'format' else 'value'}")]
    if rule in ("enum", "const"):
        choices = want if rule == "enum" else [want]
        return [(path, "must be " + " or ".join(json.dumps(c) for c in choices))]
    if rule == "minLength" and want == 1:
        return [(path, "must not be empty")]
    if rule in _BOUNDS:
        return [(path, _BOUNDS[rule].format(want))]
    if rule == "uniqueItems":
        return [(path, "must not repeat an item")]
    if error.context:
        return explain(best_match(error.context))
    return [(path, said or f"is not valid ({rule})")]


def _unknown(key: str, schema: Mapping[str, Any]) -> str:
    return f"unknown field '{key}'" + did_you_mean(key, schema.get("properties") or {})


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" for the choice closest to a typo, "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def issue_at(doc: Document, path: Path, message: str) -> SpecIssue:
    """An issue at `path` in `doc`: its file, line and column, and the path as shown."""
    line, column = doc.position(path)
    return SpecIssue(doc.file, line, column, shown_path(path), message)


def _extra_keys(schema: Mapping[str, Any], error: ValidationError) -> list[str]:
    props = schema.get("properties") or {}
    patterns = list(schema.get("patternProperties") or {})
    return [
        str(key)
        for key in error.instance
        if key not in props and not any(re.search(p, str(key)) for p in patterns)
    ]


def _type_message(want: str | list[str], value: Any) -> str:
    got = next((name for cls, name in _JSON_TYPES if isinstance(value, cls)), "binary")
    wanted = " or ".join(want) if isinstance(want, list) else want
    message = f"expected {wanted}, got {got}"
    if "string" in wanted and got == "boolean":
        message += " (YAML reads yes, no, on, off, true and false as booleans: quote the value)"
    elif "string" in wanted and got in ("integer", "number"):
        message += " (quote the value to keep it as text)"
    return message
