"""What each action of an apply comes to, and what an apply in flight has done so far."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from controller.model import Action, ActionType, Observed

A = ActionType
APPLIED, FAILED, SKIPPED, PENDING, UNCHANGED = (
    "applied",
    "failed",
    "skipped",
    "pending",
    "unchanged",
)

# Told of each action as its outcome is known (the command line's progress lines).
Event = Callable[[Action, str], None]


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str = ""
    observed: Observed | None = None


@dataclass
class Progress:
    """The outcomes so far and what is live in AWS (owned), shared by the apply's threads:
    they change both under `lock`."""

    live: dict[str, Observed]
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def recorded_as(action: Action, status: str) -> str:
    """The word the run's change records: the status, except that an action left as it was
    because it was refused, or unknown, or an orphan kept, says so."""
    if action.type in (A.BLOCKED, A.UNKNOWN, A.ORPHAN) and status == UNCHANGED:
        return "refused" if action.type is A.BLOCKED else action.type.value
    return status
