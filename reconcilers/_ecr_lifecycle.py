"""An ECR repository's lifecycle policy: read back in the spec's order, and written.

ECR stores a lifecycle policy's rules ordered by rulePriority; the observed rules are put
back in the spec's order (priorities are unique), so that is not drift.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from controller.kinds.errors import ignoring

_NO_POLICY = "LifecyclePolicyNotFoundException"


def read_policy(ecr: Any, name: str, want: Any) -> Any:
    """The lifecycle document parsed, its rules in the spec's order; None when there is none."""
    with ignoring({_NO_POLICY}):
        text = ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
        return _in_spec_order(json.loads(text), want)
    return None


def _in_spec_order(have: Any, want: Any) -> Any:
    """ECR keeps rules sorted by rulePriority; priorities are unique, so ordering the rules
    as the spec does changes nothing they mean. Rules the spec lacks go last."""
    if not isinstance(have, dict) or not isinstance(want, Mapping):
        return have
    order = [r.get("rulePriority") for r in want.get("rules") or [] if isinstance(r, Mapping)]
    rank = {priority: i for i, priority in enumerate(order)}
    rules = have.get("rules")
    if isinstance(rules, list):
        have["rules"] = sorted(
            rules, key=lambda r: (rank.get(r.get("rulePriority"), len(rank)), _priority(r))
        )
    return have


def _priority(rule: Any) -> int:
    return int(rule.get("rulePriority") or 0) if isinstance(rule, Mapping) else 0


def put_policy(ecr: Any, name: str, document: Any) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=text)
