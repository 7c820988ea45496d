"""The kinds' JSON Schemas: one registry of them all, each kind's document validator, and
its defaults filled in (the only place a default is written is the schema).

A kind with an expander (a composition) is described whole by its schema; any other kind is
written as an envelope (schemas/envelope.json) around a `spec` its own schema describes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

from controller.kinds import registry
from controller.kinds.defaults import fill_defaults
from controller.kinds.document import Document
from controller.kinds.fields import schema_dir, schema_for, snake

ENVELOPE = "envelope.json"


def with_defaults(doc: Document) -> Document:
    """A copy of `doc` whose body has its schema's defaults filled in."""
    schema = document_validator(doc.kind).schema
    resolver = schema_registry().resolver_with_root(DRAFT202012.create_resource(schema))
    return replace(doc, body=fill_defaults(doc.body, schema, resolver))


def spec_with_defaults(kind: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """`spec` with its kind's schema defaults filled in: what a composition leaves out of a
    resource it builds reaches the kind as the schema's default, as in a written spec."""
    schema = schema_for(kind)
    if not schema:
        return dict(spec)
    resolver = schema_registry().resolver_with_root(DRAFT202012.create_resource(schema))
    return dict(fill_defaults(spec, schema, resolver))


@functools.cache
def document_validator(kind: str) -> Draft202012Validator:
    if kind in registry.EXPANDERS:
        schema: Mapping[str, Any] = schema_for(kind) or {"type": "object"}
    else:
        schema = _envelope_schema(kind)
    return Draft202012Validator(
        schema, registry=schema_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _envelope_schema(kind: str) -> dict[str, Any]:
    envelope: dict[str, Any] = json.loads(json.dumps(load_schema(ENVELOPE)))  # a private copy
    if schema_for(kind):
        envelope["properties"]["spec"] = {"$ref": f"{snake(kind)}.json"}
    return envelope


def load_schema(name: str) -> Mapping[str, Any]:
    path = schema_dir() / name
    return json.loads(path.read_text()) if path.exists() else {}


@functools.cache
def schema_registry() -> Registry[Any]:
    """Schemas by file name: "environment.json" and ".../schemas/environment.json" alike."""

    def retrieve(uri: str) -> Resource[Any]:
        contents = load_schema(uri.rsplit("/", 1)[-1])
        if not contents:
            # referencing's attrs classes take these keywords; mypy's attrs plugin reads
            # neither the exception's field nor the registry's `retrieve` alias.
            raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
        return DRAFT202012.create_resource(contents)

    return Registry(retrieve=retrieve)  # type: ignore[call-arg]
