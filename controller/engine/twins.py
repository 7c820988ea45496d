"""Two resources carrying one `plumb:id`: keep the one in use, move no link, say so.

A create whose answer was lost and was sent again blindly (by an older plumb, or by another
tool) can leave two resources tagged as one. Choosing by id alone once made plumb move a
live VPC's internet gateway to an empty twin and block everything in the stack. So:
  - the one kept is the one in use: the physical id the state recorded for that logical id;
    else the one other observed resources point at (by id, in their spec or attributes);
    else the lowest id, so the choice is stable across runs;
  - every update or replace whose change names any of the twins' ids (a link that would
    move from one to the other) is blocked, and so is a replace of the resource itself;
  - the plan and the report carry a warning naming both, and `plan --detailed-exitcode`
    exits 2, until the stray one is deleted by hand.
Nothing here names a kind: reconcilers hand the twins over as `Observed.alternates`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from controller.model import TAG_ID, Action, ActionType, Observed

A = ActionType

# logical id -> (the kept physical id, the strays' physical ids)
Twins = dict[str, tuple[str, tuple[str, ...]]]


def keep_in_use(
    observed: dict[str, Observed], recorded: Callable[[str], Mapping[str, str]]
) -> Twins:
    """Replace each observation that has alternates by the one in use; returns the twins.

    `recorded(stack)` maps a stack's logical ids to the physical ids the state holds."""
    twins: Twins = {}
    for lid, found in sorted(observed.items()):
        if not found.alternates:
            continue
        group = [dataclasses.replace(found, alternates=()), *found.alternates]
        kept = _in_use(group, recorded(found.stack).get(lid, ""), observed)
        strays = tuple(o.physical_id for o in group if o is not kept)
        warning = (
            f"{', '.join(strays)} also carr{'ies' if len(strays) == 1 else 'y'} "
            f"{TAG_ID}={lid}; plumb keeps {kept.physical_id}, which is in use, and moves no "
            f"link between them: delete {', '.join(strays)} by hand"
        )
        observed[lid] = dataclasses.replace(
            kept,
            alternates=tuple(o for o in group if o is not kept),
            warnings=(*kept.warnings, warning),
        )
        twins[lid] = (kept.physical_id, strays)
    return twins


def _in_use(group: list[Observed], recorded: str, observed: Mapping[str, Observed]) -> Observed:
    by_id = {o.physical_id: o for o in group}
    if recorded in by_id:
        return by_id[recorded]
    links = {pid: 0 for pid in by_id}
    for other in observed.values():
        if other.logical_id == group[0].logical_id:
            continue
        for value in _strings((other.spec, other.attrs)):
            if value in links:
                links[value] += 1
    most = max(links.values())
    return by_id[min(pid for pid, n in links.items() if n == most)]


def hold_links(actions: list[Action], twins: Twins) -> list[Action]:
    """Block every action that would move a link between twins, or replace one of them."""
    if not twins:
        return actions
    owner = {pid: lid for lid, (kept, strays) in twins.items() for pid in (kept, *strays)}
    out = []
    for action in actions:
        named = sorted({owner[v] for v in _changed_values(action) if v in owner})
        if action.type is A.REPLACE and action.logical_id in twins:
            named = sorted({*named, action.logical_id})
        if not named or action.type not in (A.UPDATE, A.REPLACE):
            out.append(action)
            continue
        out.append(dataclasses.replace(action, type=A.BLOCKED, reason=_reason(named, twins)))
    return out


def _reason(lids: list[str], twins: Twins) -> str:
    parts = [
        f"{twins[lid][0]} and {', '.join(twins[lid][1])} both carry {TAG_ID}={lid}" for lid in lids
    ]
    strays = ", ".join(s for lid in lids for s in twins[lid][1])
    return (
        f"{'; '.join(parts)}: plumb moves no link between them; delete {strays} by hand, "
        "then run again"
    )


def _changed_values(action: Action) -> Iterator[str]:
    for change in action.changes:
        yield from _strings((change.before, change.after))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)
