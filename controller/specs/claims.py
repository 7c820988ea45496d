"""Physical names two resources claim: found at validation, not half-way through an apply.

Two environments that name the same secret, repository or bucket each validate and plan on
their own; the second create then fails with "already exists", or worse, both stacks fight
over one resource. Every expanded resource's physical name is grouped by where AWS keeps
names unique (the kind's `name_scope`: a region, the account, or all of S3), and each
resource of a group with more than one is an issue naming the others and where they are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from controller.errors import SpecIssue
from controller.kinds import registry
from controller.kinds.document import Document
from controller.model import Resource

_log = logging.getLogger(__name__)
_SCOPE_WORDS = {"global": "all of AWS", "account": "the account"}

Claim = tuple[Document, Resource]


def name_claims(
    entries: Sequence[Claim], issue_at: Callable[[Document, Resource, str], SpecIssue]
) -> list[SpecIssue]:
    """One issue per resource whose physical name another resource also claims."""
    groups: dict[tuple[str, str, str], list[Claim]] = {}
    for doc, res in entries:
        key = _claim(res)
        if key is not None:
            groups.setdefault(key, []).append((doc, res))
    out: list[SpecIssue] = []
    for (kind, where, name), group in sorted(groups.items()):
        if len({res.logical_id for _, res in group}) < 2:
            continue
        scope = _SCOPE_WORDS.get(where, where)
        for doc, res in group:
            others = "; ".join(
                f"{o.logical_id} at {o.source or d.loc()}" for d, o in group if o is not res
            )
            message = (
                f"{kind} name '{name}' is also claimed by {others}: it must be unique in {scope}"
            )
            out.append(issue_at(doc, res, message))
    return out


def _claim(res: Resource) -> tuple[str, str, str] | None:
    try:
        rec = registry.reconciler_for(res.kind)
        name = rec.physical_name(res)
    except Exception:
        # Whatever a kind's physical_name raises on a spec still holding references (a ref
        # where the name is built from): no name yet, so nothing to compare; the reference's
        # own issue is said elsewhere.
        _log.debug("no physical name for %s yet", res.logical_id, exc_info=True)
        return None
    if not name or not rec.descriptor.name_scope:
        return None
    where = rec.descriptor.name_scope if rec.descriptor.name_scope in _SCOPE_WORDS else res.region
    return res.kind, where, name
