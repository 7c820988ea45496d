"""A create or update sent to AWS. A create is journaled before it is sent and marked done
once seen, so a run killed in between leaves proof that what it made is plumb's. A write
whose answer was lost (aws/retry_guard.py) is followed by an observation by tag, and sent
again only if nothing of it is there."""

from __future__ import annotations

from controller.aws.context import Context
from controller.aws.retry_guard import WRITE_TRIES, AmbiguousWrite, create_attempt, settle
from controller.engine.ledger import Ledger
from controller.kinds.base import BaseReconciler
from controller.kinds.diff import diff
from controller.kinds.registry import reconciler_for
from controller.model import Action, Diff, Observed, Resource


def write(
    action: Action, res: Resource, found: Observed | None, ctx: Context, ledger: Ledger, run: int
) -> Observed:
    """`res` created (`found` None) or brought to its spec; what AWS then holds of it."""
    rec = reconciler_for(res.kind)
    creating = found is None
    with create_attempt():  # one client token for every send of this create
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                observed = _write_once(action, res, rec, ctx, found, ledger, run)
                break
            except AmbiguousWrite:
                if attempt == WRITE_TRIES:
                    raise
                found = settle(lambda: rec.find_own(res, ctx)) or found
    if creating:
        ledger.mark_created(run, observed)
    return observed


def _write_once(
    action: Action,
    res: Resource,
    rec: BaseReconciler,
    ctx: Context,
    found: Observed | None,
    ledger: Ledger,
    run: int,
) -> Observed:
    if found is None:
        physical_name = rec.physical_name(res)
        ledger.mark_create_pending(run, res.stack, res.logical_id, res.kind, physical_name)
        return rec.create(res, ctx)
    waived = {c.path for c in action.waived}
    delta = Diff(tuple(c for c in diff(res, found).changes if c.path not in waived))
    return rec.update(res, found, delta, ctx) if delta else found
