"""A stack's policy: prune, self-heal, the delete budget, drift waivers and guardrail
exceptions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

from controller.model import FieldChange


class _Dated:
    """A policy entry that ends: a waiver or a guardrail exception, its fields what it names,
    then a reason, an owner and the day it expires (read by `_entry`)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # each subclass is a dataclass
    expires: dt.date

    def active(self, today: dt.date) -> bool:
        return today <= self.expires

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**out, "expires": self.expires.isoformat()}


@dataclass(frozen=True)
class Waiver(_Dated):
    """Drift on `field` of `resource` is reported, not repaired, until `expires`."""

    resource: str  # "app/service", relative to the stack
    field: str
    reason: str
    owner: str
    expires: dt.date

    def covers(self, name: str, change: FieldChange) -> bool:
        return name == self.resource and (
            change.path == self.field
            or change.path.startswith(self.field + ".")
            or change.path.startswith(self.field + "[")
        )


@dataclass(frozen=True)
class GuardrailException(_Dated):
    """A grant `guardrail` refuses is accepted on `resource` until `expires`."""

    guardrail: str  # a name in the registry's GUARDRAIL_NAMES: "trust-foreign-account"
    resource: str  # "app/task-role", relative to the stack
    reason: str
    owner: str
    expires: dt.date

    def covers(self, name: str, guardrail: str) -> bool:
        return name == self.resource and guardrail == self.guardrail


@dataclass(frozen=True)
class StackPolicy:
    prune: bool = False
    self_heal: bool = True
    max_deletes: int = 3
    waivers: tuple[Waiver, ...] = field(default_factory=tuple)
    exceptions: tuple[GuardrailException, ...] = field(default_factory=tuple)
    # AWS managed policies the stack may attach besides the guardrails' own allow list.
    managed_policies: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_spec(cls, policy: Mapping[str, Any]) -> StackPolicy:
        return cls(
            prune=bool(policy.get("prune", False)),
            self_heal=bool(policy.get("selfHeal", True)),
            max_deletes=int(policy.get("maxDeletes", 3)),
            waivers=tuple(_entry(Waiver, w) for w in policy.get("ignoreDrift") or ()),
            exceptions=tuple(_entry(GuardrailException, e) for e in policy.get("exceptions") or ()),
            managed_policies=tuple(str(p) for p in policy.get("allowManagedPolicies") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "prune": self.prune,
            "selfHeal": self.self_heal,
            "maxDeletes": self.max_deletes,
            "ignoreDrift": [w.to_json() for w in self.waivers],
            # Only when set: a saved plan without them reads back the same.
            **({"exceptions": [e.to_json() for e in self.exceptions]} if self.exceptions else {}),
            **(
                {"allowManagedPolicies": list(self.managed_policies)}
                if self.managed_policies
                else {}
            ),
        }


_Entry = TypeVar("_Entry", "Waiver", "GuardrailException")


def _entry(kind: type[_Entry], written: Mapping[str, Any]) -> _Entry:
    """A waiver or an exception as the stack's policy writes it: what it names, then a
    reason and an owner (either may be left out) and the day it expires."""
    named: dict[str, Any] = {f.name: str(written[f.name]) for f in fields(kind)[:-3]}
    return kind(
        **named,
        reason=str(written.get("reason", "")),
        owner=str(written.get("owner", "")),
        expires=_date(written["expires"]),
    )


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
