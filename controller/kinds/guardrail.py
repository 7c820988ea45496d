"""What a kind's guardrail rule sees and says: the kind API side of the guardrails.

A rule (registered with `reconcilers.guardrail`) gets a resource and its `Scope`, and yields
(path, guardrail, message) for each grant it refuses; controller/specs/guardrails.py runs the
rules and weighs the stack's exceptions. The rules live with the kinds, so they import this,
never the dispatcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.kinds.document import Path
from controller.model import Resource

__all__ = ["Path", "Scope", "how_to_except"]


@dataclass(frozen=True)
class Scope:
    """What a rule may know of the resource's stack."""

    stack: str
    resources: Sequence[Resource]
    accounts: frozenset[str]  # the stack's own AWS account(s); empty when nothing says
    managed_policies: tuple[str, ...] = ()  # the policy's additions to the allow list


def how_to_except(guardrail: str, resource: str) -> str:
    """The end of a finding's message: the exception that would accept it."""
    return (
        f"or accept it with a policy.exceptions entry (guardrail: {guardrail}, resource: "
        f"{resource}, owner, reason, expires)"
    )
