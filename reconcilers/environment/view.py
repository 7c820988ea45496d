"""A read-only view of one validated Environment document, for the section expanders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.kinds.document import Document, Path
from controller.kinds.schemas import with_defaults
from controller.model import Resource


def ref(target: str, attr: str = "id") -> dict[str, str]:
    """A reference to another resource of the same stack ("network/vpc"), resolved at apply."""
    return {"ref": target, "attr": attr}


def join(*parts: Any) -> dict[str, list[Any]]:
    """A string built from literals and references: {"join": [...]}."""
    return {"join": list(parts)}


ACCOUNT_ID = ref("aws:account", "id")


class StackView:
    """The document with its schema's defaults filled in, so no expander restates one."""

    def __init__(self, doc: Document) -> None:
        doc = with_defaults(doc)
        self.doc = doc
        meta = doc.metadata
        self.product: str = meta["product"]
        self.env: str = meta["env"]
        self.region: str = meta["region"]
        self.tags: dict[str, str] = {str(k): str(v) for k, v in (meta.get("tags") or {}).items()}
        self.spec: Mapping[str, Any] = doc.body.get("spec") or {}

    @property
    def stack(self) -> str:
        return f"{self.product}-{self.env}"

    def section(self, name: str) -> Mapping[str, Any] | None:
        value = self.spec.get(name)
        return value if isinstance(value, Mapping) else None

    def resource(
        self,
        kind: str,
        name: str,
        spec: Mapping[str, Any],
        path: Path = (),
        deletion_policy: str = "Delete",
        after: tuple[str, ...] = (),
        expects: Mapping[str, Any] | None = None,
    ) -> Resource:
        """A Resource of this stack; `name` is "section/thing", `path` points into the spec."""
        return Resource(
            kind=kind,
            logical_id=f"{self.stack}/{name}",
            spec=spec,
            region=self.region,
            tags=self.tags,
            deletion_policy=deletion_policy,
            source=self.doc.loc(("spec", *path)),
            after=after,
            expects=dict(expects or {}),
        )
