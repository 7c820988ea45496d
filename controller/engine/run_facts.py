"""What a run records beside its changes: the AWS identity it acted as, and the drift it found.

Both are worked out from what the run already holds (its contexts, its plan), so recording
them costs no state transaction: they travel with its seal (store.chain.seal).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from controller.aws.context import Context
from controller.engine.plan import Plan
from controller.model import ActionType, contains_unknown

A = ActionType
_log = logging.getLogger(__name__)
# Actions on a resource that exists and differs from its spec: repaired, or held back.
_DIFFERS = frozenset({A.UPDATE, A.REPLACE, A.BLOCKED})


def aws_identity(contexts: Mapping[str, Context]) -> dict[str, str]:
    """The account and caller ARN the run acted as; {} when AWS would not say."""
    if not contexts:
        return {}
    try:
        return dict(next(iter(contexts.values())).caller)
    except (BotoCoreError, ClientError) as err:  # the run is sealed all the same
        _log.warning("could not ask AWS who plumb acts as: %s", err)
        return {}


def drift_found(plan: Plan) -> dict[str, Any]:
    """Resources that exist and differ from their spec, and drift a waiver covers.

    `fields` are the paths that differ; `action` says what the run did about them
    (update or replace: repaired; blocked: held back, its reason in the change). What a
    new commit asks for is not drift: the state keeps the hash of the spec plumb last
    converged each resource to, and a resource whose spec changed since is left out.
    Without that hash (a resource adopted after lost state) a difference counts."""
    found = []
    for action in plan.actions:
        differs = action.physical_id and action.type in _DIFFERS and not action.requested
        # A value known only after apply comes from a dependency's change, not from AWS.
        changes = [c for c in action.changes if not contains_unknown(c.after)]
        fields = [c.path for c in changes] if differs else []
        waived = [c.path for c in action.waived]
        if fields or waived:
            found.append(
                {
                    "stack": action.stack,
                    "logicalId": action.logical_id,
                    "kind": action.kind,
                    "action": action.type.value,
                    "fields": fields,
                    "waived": waived,
                }
            )
    return {"count": len(found), "resources": found}
