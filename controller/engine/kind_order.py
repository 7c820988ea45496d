"""The order kinds are deleted in when they leave the spec: most dependent first, by the
edges of the desired graph and each kind's declared `requires`."""

from __future__ import annotations

from collections.abc import Iterable

from controller.engine.graph import Graph
from controller.kinds.registry import REGISTRY
from controller.model import Action, ActionType

A = ActionType


def orphan_waves(graph: Graph, actions: Iterable[Action]) -> list[list[str]]:
    """Deletes of what left the spec, most dependent kinds first."""
    rank = kind_ranks(graph)
    doomed = [a for a in actions if a.type is A.DELETE]
    levels = sorted({rank.get(a.kind, 0) for a in doomed}, reverse=True)
    return [[a.logical_id for a in doomed if rank.get(a.kind, 0) == lvl] for lvl in levels]


def kind_ranks(graph: Graph) -> dict[str, int]:
    """Kinds in dependency order: edges from the desired graph and each kind's `requires`."""
    edges: dict[str, set[str]] = {
        kind: set(cls.descriptor.requires) for kind, cls in REGISTRY.items()
    }
    for lid, deps in graph.deps.items():
        kind = graph.nodes[lid].kind
        edges.setdefault(kind, set()).update(graph.nodes[d].kind for d in deps)
    rank: dict[str, int] = {}

    def depth(kind: str, seen: frozenset[str]) -> int:
        if kind in rank:
            return rank[kind]
        parents = [d for d in edges.get(kind, ()) if d not in seen and d != kind]
        rank[kind] = 1 + max((depth(p, seen | {kind}) for p in parents), default=-1)
        return rank[kind]

    for kind in edges:
        depth(kind, frozenset())
    return rank
