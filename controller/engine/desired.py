"""What the specs ask for, read and validated: nothing here touches AWS or the state, so
`plumb validate` (a pre-commit hook, run on every commit) starts fast."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import click
from rich.console import Console
from rich.markup import escape

from controller.audit import actor
from controller.engine import waivers
from controller.model import Resource
from controller.specs import guardrails
from controller.specs.expand import expand_all, stack_policies
from controller.specs.policy import StackPolicy
from controller.specs.validate import load_and_validate
from controller.words import counted


class Commit(Protocol):
    """A commit the loop pinned (loop/source.py): what a run records of it."""

    def to_json(self) -> dict[str, str]: ...


@dataclass
class Desired:
    """What the specs ask for: resources, stack policies and where they came from."""

    resources: list[Resource]
    policies: dict[str, StackPolicy]
    commit: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    # Who asked, for a command-line run: OS user, host, the specs' git worktree (actor.py).
    actor: dict[str, Any] = field(default_factory=dict)

    @property
    def stacks(self) -> list[str]:
        return sorted({r.stack for r in self.resources} | set(self.policies))

    def only(self, stacks: Sequence[str]) -> Desired:
        if not stacks:
            return self
        keep = set(stacks)
        return Desired(
            [r for r in self.resources if r.stack in keep],
            {s: p for s, p in self.policies.items() if s in keep},
            self.commit,
            self.source,
            self.actor,
        )


def load_desired(
    specs: str | Path | Sequence[str | Path],
    stacks: Sequence[str] = (),
    commit: Commit | None = None,
    source: str = "",
    shown_as: str | None = None,
    by_hand: bool = True,
) -> Desired:
    """Validate every spec under `specs`, a folder or file or several (all errors at once),
    and expand them; `shown_as` names `specs` in messages (a commit's checkout by the path
    in its repository). Specs read without a pinned commit are a command-line run's
    (`by_hand`): the run records who ran it and the git commit the specs' checkout is at."""
    docs = load_and_validate(specs, shown_as)
    desired = Desired(
        expand_all(docs),
        stack_policies(docs),
        commit.to_json() if commit else {},
        source or (str(specs) if isinstance(specs, str | Path) else " ".join(map(str, specs))),
    )
    if commit is None and by_hand and isinstance(specs, str | Path):
        desired.commit, tree = actor.worktree(specs)
        desired.actor = {**actor.operator(), **({"worktree": tree} if tree else {})}
    unknown = sorted(set(stacks) - set(desired.stacks))
    if unknown:
        raise click.UsageError(
            f"no spec defines stack {', '.join(unknown)}; known: {', '.join(desired.stacks)}"
        )
    return desired.only(stacks)


def do_validate(specs: Sequence[str], console: Console) -> int:
    """Validate the given spec files and folders together, as one set."""
    desired = load_desired(specs, by_hand=False)
    console.print(
        f"[green]valid:[/green] {counted(len(desired.stacks), 'stack')}, "
        f"{counted(len(desired.resources), 'resource')} ({', '.join(desired.stacks)})"
    )
    # An expired waiver is no error (the spec is still valid), but it holds nothing back.
    expired = waivers.records(desired.policies, dt.date.today())
    for line in waivers.warning_lines(expired, expired_only=True):
        console.print(f"[yellow]warning:[/yellow] {escape(line)}")
    # An expired exception still accepting a grant was an error above; one that accepts
    # nothing is only stale.
    for line in guardrails.expired_lines(guardrails.records(desired.policies, dt.date.today())):
        console.print(f"[yellow]warning:[/yellow] {escape(line)}")
    return 0
