"""Schema defaults, filled into a document that has passed its schema.

Only properties of objects that are present get their defaults: a section left out of a
spec stays out (it is not built), while a section that is present gets every field its
schema defaults. A property whose default is itself an object (`policy: {}`) is created
and then filled in turn.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from referencing._core import Resolver

_MISSING = object()


def fill_defaults(instance: Any, schema: Mapping[str, Any], resolver: Resolver[Any]) -> Any:
    """A copy of `instance` with the defaults of `schema` filled in; the input is not changed."""
    schema, resolver = _deref(schema, resolver)
    if isinstance(instance, Mapping):
        return _fill_object(instance, schema, resolver)
    if isinstance(instance, list) and isinstance(schema.get("items"), Mapping):
        return [fill_defaults(item, schema["items"], resolver) for item in instance]
    return instance


def _fill_object(
    instance: Mapping[str, Any], schema: Mapping[str, Any], resolver: Resolver[Any]
) -> dict[str, Any]:
    out = dict(instance)
    for part in schema.get("allOf", []):
        out = fill_defaults(out, part, resolver)
    props: Mapping[str, Any] = schema.get("properties") or {}
    for name, sub in props.items():
        if name not in out:
            default = _default(sub, resolver)
            if default is _MISSING:
                continue
            out[name] = copy.deepcopy(default)
        out[name] = fill_defaults(out[name], sub, resolver)
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        for name in out.keys() - props.keys():
            out[name] = fill_defaults(out[name], extra, resolver)
    return out


def _default(schema: Mapping[str, Any], resolver: Resolver[Any]) -> Any:
    """The default written beside a $ref wins over the one of the schema it points to."""
    if "default" in schema:
        return schema["default"]
    resolved, _ = _deref(schema, resolver)
    return resolved.get("default", _MISSING)


def _deref(
    schema: Mapping[str, Any], resolver: Resolver[Any]
) -> tuple[Mapping[str, Any], Resolver[Any]]:
    """Follow $ref to the schema it names, keeping the keywords written beside it."""
    seen = 0
    while "$ref" in schema and seen < 32:  # a bound, not a cycle detector: refs are static
        found = resolver.lookup(schema["$ref"])
        beside = {k: v for k, v in schema.items() if k != "$ref"}
        schema, resolver = {**found.contents, **beside}, found.resolver
        seen += 1
    return schema, resolver
