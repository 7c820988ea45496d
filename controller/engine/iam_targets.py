"""What `plumb iam-policy --specs DIR` scopes the policy to: the kinds those specs use, their
stacks, regions and the names plumb derives for their resources, as short patterns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from controller.kinds import registry
from controller.kinds.iam_scope import WILDCARD, Target, name_pattern, partition_of
from controller.model import Resource
from controller.specs.expand import expand_all
from controller.specs.validate import load_and_validate

if TYPE_CHECKING:
    from controller.kinds.base import BaseReconciler


def for_specs(
    specs: Sequence[str | Path], boundary: str = ""
) -> tuple[list[type[BaseReconciler]], Target]:
    """The kinds the specs under `specs` expand to, and the target their policy is scoped to.

    Raises SpecError, as `plumb validate` would, on specs that do not validate."""
    docs = load_and_validate(list(specs))
    resources = expand_all(docs)
    products = sorted({str(doc.metadata.get("product", "")) for doc in docs} - {""})
    regions = sorted({r.region for r in resources})
    partitions = sorted({partition_of(r) for r in regions})
    target = Target(
        partition=partitions[0] if len(partitions) == 1 else WILDCARD,
        region=regions[0] if len(regions) == 1 else WILDCARD,
        names=_names(resources, products),
        stacks=tuple(sorted({r.stack for r in resources})),
        boundary=boundary,
    )
    registry.load_all()
    kinds = [registry.REGISTRY[k] for k in sorted({r.kind for r in resources})]
    return kinds, target


def _names(resources: Sequence[Resource], products: Sequence[str]) -> dict[str, list[str]]:
    """Kind -> name patterns; a kind with a name the specs leave open (a reference not yet
    resolved) keeps a wildcard for all of its resources."""
    out: dict[str, set[str]] = {}
    for res in resources:
        name = _name_of(res)
        patterns = out.setdefault(res.kind, set())
        patterns.add(name_pattern(name, products) if name else WILDCARD)
    return {kind: [WILDCARD] if WILDCARD in p else sorted(p) for kind, p in out.items()}


def _name_of(res: Resource) -> str:
    try:
        return registry.reconciler_for(res.kind).iam_name(res)
    except Exception:  # a name made of references: unknown until apply
        return ""
