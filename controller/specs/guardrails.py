"""Guardrails: what an expanded resource may grant, whoever wrote it (an expander or a
document written directly), and the exceptions a stack's policy makes to them.

The rules are kind-specific and live in reconcilers/ (registered with the kind registry's
`guardrail`); this module only dispatches, so it names no kind. A rule sees the
resource and its stack (`Scope`): the other resources, the stack's own AWS account(s) and
the managed policies its policy adds to the allow list. The account is what the stack's
ARNs of resources name (an account a trust policy grants to, a role ARN, is no evidence of
whose stack it is), or, when a plan runs against AWS, the account STS says plumb acts in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from controller.kinds import registry
from controller.kinds.guardrail import Path, Scope
from controller.model import Resource
from controller.specs.messages import did_you_mean
from controller.specs.policy import GuardrailException, StackPolicy

D = TypeVar("D")
T = TypeVar("T")
SOON_DAYS = 14  # as for drift waivers: an exception expiring this soon is flagged
EXPIRED, SOON, ACTIVE = "expired", "expires-soon", "active"
# An ARN of any service but IAM and STS: those name who (a role to run as, an account to
# trust), which is what the guardrails check, not where the stack lives.
_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:(?!iam:|sts:)[a-z0-9-]+:[a-z0-9-]*:([0-9]{12}):")
_GRANTEES = frozenset({"Principal", "NotPrincipal"})


@dataclass(frozen=True)
class Finding:
    logical_id: str  # the resource's logical id
    path: Path  # within the resource's spec: ("assumeRolePolicy", "Statement", 0, "Principal")
    guardrail: str  # a name in registry.GUARDRAIL_NAMES: "trust-anyone", "inline-star"
    message: str  # one line: what is wrong, what to do, how to write an exception


def guardrail_findings(
    resources: Sequence[Resource],
    policies: Mapping[str, StackPolicy],
    today: dt.date | None = None,
    account: str | None = None,
) -> list[Finding]:
    """Findings not covered by an active exception of the resource's stack.

    `account` is the account plumb acts in (STS): given, it is the stack's own account
    instead of the one its ARNs name. A finding an expired exception would have covered
    says so.
    """
    registry.load_all()
    day = today or dt.date.today()
    out: list[Finding] = []
    for stack, members in _by_stack(resources).items():
        policy = policies.get(stack, StackPolicy())
        accounts = frozenset({account}) if account else spec_accounts(members)
        scope = Scope(stack, members, accounts, policy.managed_policies)
        for res in members:
            for path, name, message in _rule_findings(res, scope):
                found = Finding(res.logical_id, tuple(path), name, message)
                kept = _uncovered(found, res.name, policy.exceptions, day)
                out += [kept] if kept else []
    return out


def guardrail_issues(
    placed: Sequence[tuple[D, Resource]],
    policies: Mapping[str, StackPolicy],
    issue: Callable[[D, Resource, Path, str], T],
) -> list[T]:
    """Validation's view: each finding as `issue(document, resource, path, message)`, for
    every (document, resource) of `placed` (what the documents expand to)."""
    where = {res.logical_id: (doc, res) for doc, res in placed}
    found = guardrail_findings([res for _, res in placed], policies)
    return [issue(*where[f.logical_id], f.path, f.message) for f in found]


def _by_stack(resources: Sequence[Resource]) -> dict[str, list[Resource]]:
    out: dict[str, list[Resource]] = {}
    for res in resources:
        out.setdefault(res.stack, []).append(res)
    return out


def _rule_findings(res: Resource, scope: Scope) -> Iterator[tuple[Path, str, str]]:
    for rule in registry.GUARDRAILS.get(res.kind, ()):
        yield from rule(res, scope)


def _uncovered(
    found: Finding, name: str, exceptions: Sequence[GuardrailException], today: dt.date
) -> Finding | None:
    mine = [e for e in exceptions if e.covers(name, found.guardrail)]
    if any(e.active(today) for e in mine):
        return None
    if mine:
        last = max(e.expires for e in mine)
        note = f" (its exception expired on {last.isoformat()}: renew it or fix the grant)"
        return Finding(found.logical_id, found.path, found.guardrail, found.message + note)
    return found


def spec_accounts(resources: Sequence[Resource]) -> frozenset[str]:
    """The 12-digit accounts the resources' ARNs name (a certificate's, a secret's),
    outside any Principal."""
    found: set[str] = set()
    for res in resources:
        found.update(_accounts_in(res.spec))
    return frozenset(found)


def _accounts_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        match = _ARN_ACCOUNT.match(value)
        if match:
            yield match.group(1)
    elif isinstance(value, Mapping):
        for key, sub in value.items():
            if key not in _GRANTEES:
                yield from _accounts_in(sub)
    elif isinstance(value, list | tuple):
        for sub in value:
            yield from _accounts_in(sub)


# -- the exceptions a stack's policy writes ----------------------------------------------


def exception_problems(
    policy: Mapping[str, Any], stack: str, names: Sequence[str]
) -> list[tuple[Path, str]]:
    """(path in the document, message) for each exception naming an unknown guardrail or a
    resource `names` (the stack's resources, relative) does not hold."""
    out: list[tuple[Path, str]] = []
    known = sorted(registry.GUARDRAIL_NAMES)
    for index, entry in enumerate(policy.get("exceptions") or ()):
        base: Path = ("policy", "exceptions", index)
        guardrail, resource = str(entry.get("guardrail")), str(entry.get("resource"))
        if guardrail not in registry.GUARDRAIL_NAMES:
            hint = did_you_mean(guardrail, known)
            message = f"unknown guardrail '{guardrail}'{hint}; known: {', '.join(known)}"
            out.append(((*base, "guardrail"), message))
        if resource not in names:
            hint = did_you_mean(resource, names)
            out.append(((*base, "resource"), f"no resource '{resource}' in stack {stack}{hint}"))
    return out


def records(policies: Mapping[str, StackPolicy], today: dt.date) -> list[dict[str, Any]]:
    """Every exception of the stacks as a run records it: with its status and days left."""
    out = []
    for stack, policy in policies.items():
        for entry in policy.exceptions:
            left = (entry.expires - today).days
            status = EXPIRED if left < 0 else SOON if left <= SOON_DAYS else ACTIVE
            out.append({**entry.to_json(), "stack": stack, "status": status, "daysLeft": left})
    return sorted(out, key=lambda r: (r["stack"], r["resource"], r["guardrail"], r["expires"]))


def grouped(stored: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A run's exceptions as reports list them: expiring soon first (soonest first), then the
    others in force, then the expired; each with a `note` to show."""
    rank = {SOON: 0, ACTIVE: 1, EXPIRED: 2}
    ordered = sorted(
        stored, key=lambda r: (rank.get(str(r.get("status")), 1), str(r.get("expires")))
    )
    return [{**r, "note": _note(r)} for r in ordered]


def _note(record: Mapping[str, Any]) -> str:
    expires, left = record.get("expires"), int(record.get("daysLeft") or 0)
    if record.get("status") == EXPIRED:
        return f"expired on {expires}: the grant is refused again"
    return f"expires {expires}, {left} day{'' if left == 1 else 's'} left"


def expired_lines(stored: Sequence[Mapping[str, Any]]) -> list[str]:
    """One warning per expired exception: it accepts nothing any more."""
    return [
        f"exception on {r['stack']} {r['resource']} for {r['guardrail']} (owner: "
        f"{r['owner'] or '?'}) expired on {r['expires']}: it accepts nothing any more, remove it"
        for r in stored
        if r["status"] == EXPIRED
    ]
