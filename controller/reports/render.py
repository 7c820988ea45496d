"""Plans for people: a terminal view in the spirit of `terraform plan` (the pull-request
comment is controller/reports/plan_markdown.py).

One line per resource with its symbol, the changed fields indented under it, a summary
line, and the API calls the plan took. Colour comes from rich, only on a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape

from controller.engine import waivers
from controller.engine.plan import Plan
from controller.model import SYMBOLS, Action, ActionType
from controller.reports.changes import change_lines

A = ActionType
SYMBOL = {t: SYMBOLS[t.value] for t in ActionType}
STYLE = {
    A.CREATE: "green",
    A.UPDATE: "yellow",
    A.REPLACE: "magenta",
    A.DELETE: "red",
    A.NOOP: "dim",
    A.ORPHAN: "cyan",
    A.BLOCKED: "bold red",
    A.UNKNOWN: "bold red",
}


def summary(plan: Plan) -> str:
    c = plan.counts()
    text = (
        f"Plan: {c['create']} to create, {c['update']} to update, {c['replace']} to replace, "
        f"{c['delete']} to delete, {c['noop']} unchanged."
    )
    extra = [f"{c[k]} {k}" for k in ("blocked", "orphan", "unknown") if c[k]]
    return text + (f" {', '.join(extra)}." if extra else "")


def calls_text(calls: Mapping[str, Any]) -> str:
    by_service = retries_text(calls)
    return (
        f"AWS API calls: {calls.get('total', 0)} ({calls.get('reads', 0)} reads, "
        f"{calls.get('writes', 0)} writes, {calls.get('retries', 0)} retries"
        + (f": {by_service})" if by_service else ")")
    )


def retries_text(calls: Mapping[str, Any]) -> str:
    """Where the run's retries went, as "ec2 14, iam 3"; "" when there were none."""
    by_service = calls.get("retriesByService") or {}
    return ", ".join(f"{service} {n}" for service, n in sorted(by_service.items()) if n)


def print_plan(plan: Plan, console: Console, show_noop: bool = False, fields: bool = True) -> None:
    for stack in sorted({a.stack for a in plan.actions}):
        shown = [
            a
            for a in plan.actions
            if a.stack == stack and (a.type is not A.NOOP or show_noop or a.waived or a.warnings)
        ]
        if not shown:
            continue  # a stack with nothing to say is counted in the summary only
        console.print(f"[bold]Stack {escape(stack)}[/bold]")
        for action in shown:
            _print_action(action, console, fields)
        console.print()
    for error in plan.errors:
        console.print(f"[bold red]error:[/bold red] {escape(error)}")
    console.print(f"[bold]{summary(plan)}[/bold]")


def print_waivers(plan: Plan, console: Console) -> None:
    """One warning line per waiver of the plan's stacks expiring soon or expired."""
    for line in waivers.warning_lines(waivers.in_run(plan)):
        console.print(f"[yellow]warning:[/yellow] {escape(line)}")


def _print_action(action: Action, console: Console, fields: bool = True) -> None:
    style = STYLE[action.type]
    head = f"[{style}]{SYMBOL[action.type]:>3} {action.kind:<16} {escape(action.name())}[/{style}]"
    why = action.explanation()
    if why:
        head += f"  [dim]({escape(why)})[/dim]"
    console.print(head)
    if not fields:
        return
    for change in action.changes:
        for line in change_lines(change):
            console.print(f"        {escape(line)}")
    for change in action.waived:
        for line in change_lines(change):
            console.print(f"        [dim]waived: {escape(line)}[/dim]")
    for warning in action.warnings:
        console.print(f"        [yellow]warning: {escape(warning)}[/yellow]")
