"""Expansion: validated documents -> desired resources, by dispatch to registered expanders.

A kind with an expander (a composition such as an environment) expands into many
resources; any other registered kind written directly in a spec is one resource.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from controller.kinds.document import Document
from controller.kinds.registry import EXPANDERS, load_all
from controller.kinds.schemas import spec_with_defaults
from controller.model import Resource
from controller.specs.policy import StackPolicy


def expand_document(doc: Document) -> list[Resource]:
    load_all()
    if doc.kind in EXPANDERS:
        # A kind reads its schema's defaults from the spec it is handed, never its own.
        return [
            dataclasses.replace(res, spec=spec_with_defaults(res.kind, res.spec))
            for res in EXPANDERS[doc.kind](doc)
        ]
    meta = doc.metadata
    return [
        Resource(
            kind=doc.kind,
            logical_id=f"{doc.stack}/{meta['name']}",
            spec=dict(doc.body.get("spec") or {}),
            region=str(meta["region"]),
            tags={str(k): str(v) for k, v in (meta.get("tags") or {}).items()},
            deletion_policy=str(meta.get("deletionPolicy", "Delete")),
            source=doc.loc(()),
        )
    ]


def is_composition(kind: str) -> bool:
    """A kind with an expander: one document of it is many resources."""
    return kind in EXPANDERS


def expand_all(docs: Iterable[Document]) -> list[Resource]:
    return [res for doc in docs for res in expand_document(doc)]


def stack_policies(docs: Iterable[Document]) -> dict[str, StackPolicy]:
    """One policy per stack, from the first of its documents that states one."""
    out: dict[str, StackPolicy] = {}
    for doc in docs:
        if doc.stack not in out or (doc.policy and out[doc.stack] == StackPolicy()):
            out[doc.stack] = StackPolicy.from_spec(doc.policy)
    return out
