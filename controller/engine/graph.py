"""The dependency graph of desired resources: references, ordering into waves, resolution.

A reference is `{"ref": "network/vpc", "attr": "id"}` (relative to the stack) or the
pseudo-resource `aws:account`; `{"join": [...]}` builds a string from literals and
references. A value that cannot be known until something is created is `UNKNOWN`.

A reference marked `"late": true` sits in a member of a set (a security-group rule that
names a group which names this one back). It does not order the graph, which is how two
resources may refer to each other: apply creates both without the members whose late
reference is still unknown, then adds those members in a second pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from controller.errors import PlanError
from controller.model import UNKNOWN, Resource, contains_unknown

ACCOUNT = "aws:account"


def is_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) in ({"ref", "attr"}, {"ref", "attr", "late"})


def is_late(value: Any) -> bool:
    return is_ref(value) and bool(value.get("late"))


def is_join(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"join"}


def references(value: Any, late: bool = True) -> set[str]:
    """Every reference target named inside `value` (relative form); `late=False` leaves out
    the late ones, which do not order the graph."""
    if is_ref(value):
        return {str(value["ref"])} if late or not is_late(value) else set()
    if isinstance(value, Mapping):
        return set().union(*(references(v, late) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(references(v, late) for v in value)) if value else set()
    return set()


def absolute(stack: str, target: str) -> str:
    return target if target == ACCOUNT or target.startswith(stack + "/") else f"{stack}/{target}"


class Graph:
    """Resources ordered so that everything a resource refers to comes first."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.nodes: dict[str, Resource] = {r.logical_id: r for r in resources}
        self.deps: dict[str, set[str]] = {}
        for lid, res in self.nodes.items():
            named = {absolute(res.stack, t) for t in [*references(res.spec), *res.after]}
            named -= {ACCOUNT}
            missing = sorted(t for t in named if t not in self.nodes)
            if missing:
                raise PlanError(f"{lid} refers to {', '.join(missing)}, which no spec defines")
            early = {
                absolute(res.stack, t) for t in [*references(res.spec, late=False), *res.after]
            }
            self.deps[lid] = early - {ACCOUNT}
        self._waves = self._levels()

    def _levels(self) -> list[list[str]]:
        remaining = {lid: set(d) for lid, d in self.deps.items()}
        waves: list[list[str]] = []
        while remaining:
            ready = sorted(lid for lid, d in remaining.items() if not d)
            if not ready:
                raise PlanError(f"reference cycle among: {', '.join(sorted(remaining))}")
            waves.append(ready)
            for lid in ready:
                del remaining[lid]
            for d in remaining.values():
                d.difference_update(ready)
        return waves

    def waves(self) -> list[list[str]]:
        return [list(w) for w in self._waves]

    def order(self) -> list[str]:
        return [lid for wave in self._waves for lid in wave]

    def dependents(self, lid: str) -> set[str]:
        """Everything that refers to `lid`, directly or through others."""
        out: set[str] = set()
        frontier = {lid}
        while frontier:
            nxt = {n for n, d in self.deps.items() if d & frontier} - out
            out |= nxt
            frontier = nxt
        return out


AttrLookup = Callable[[str], Mapping[str, Any] | None]


def resolve(res: Resource, attrs_of: AttrLookup, account_id: Callable[[], str]) -> Resource:
    """`res` with every reference replaced by its value, or UNKNOWN when not yet known."""

    def value(v: Any) -> Any:
        if is_ref(v):
            target = absolute(res.stack, str(v["ref"]))
            if target == ACCOUNT:
                return account_id()
            attrs = attrs_of(target)
            return UNKNOWN if attrs is None else attrs.get(str(v["attr"]), UNKNOWN)
        if is_join(v):
            parts = [value(p) for p in v["join"]]
            return UNKNOWN if any(p is UNKNOWN for p in parts) else "".join(map(str, parts))
        if isinstance(v, Mapping):
            return {k: value(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [value(x) for x in v]
        return v

    return res.with_spec(value(dict(res.spec)))


def without_unknown_members(value: Any) -> Any:
    """`value` with every list member that holds an unknown left out (for a first pass)."""
    if isinstance(value, Mapping):
        return {k: without_unknown_members(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_unknown_members(v) for v in value if not contains_unknown(v)]
    return value
