"""A stack's policy: prune, self-heal, the delete budget and drift waivers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.model import FieldChange


@dataclass(frozen=True)
class Waiver:
    """Drift on `field` of `resource` is reported, not repaired, until `expires`."""

    resource: str  # "app/service", relative to the stack
    field: str
    reason: str
    owner: str
    expires: dt.date

    def active(self, today: dt.date) -> bool:
        return today <= self.expires

    def covers(self, name: str, change: FieldChange) -> bool:
        return name == self.resource and (
            change.path == self.field
            or change.path.startswith(self.field + ".")
            or change.path.startswith(self.field + "[")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "field": self.field,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
        }


@dataclass(frozen=True)
class StackPolicy:
    prune: bool = False
    self_heal: bool = True
    max_deletes: int = 3
    waivers: tuple[Waiver, ...] = field(default_factory=tuple)

    @classmethod
    def from_spec(cls, policy: Mapping[str, Any]) -> StackPolicy:
        return cls(
            prune=bool(policy.get("prune", False)),
            self_heal=bool(policy.get("selfHeal", True)),
            max_deletes=int(policy.get("maxDeletes", 3)),
            waivers=tuple(
                Waiver(
                    str(w["resource"]),
                    str(w["field"]),
                    str(w.get("reason", "")),
                    str(w.get("owner", "")),
                    _date(w["expires"]),
                )
                for w in policy.get("ignoreDrift") or ()
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "prune": self.prune,
            "selfHeal": self.self_heal,
            "maxDeletes": self.max_deletes,
            "ignoreDrift": [w.to_json() for w in self.waivers],
        }


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
