"""Plans for people: a terminal view in the spirit of `terraform plan`, and Markdown.

One line per resource with its symbol, the changed fields indented under it, a summary
line, and the API calls the plan took. Colour comes from rich, only on a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape

from controller.model import SENSITIVE, SYMBOLS, UNKNOWN, Action, ActionType, FieldChange
from controller.plan import Plan

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
MAX_VALUE = 110


def _flatten(path: str, value: Any) -> list[tuple[str, Any]]:
    """Nested mappings and lists of mappings opened into paths, so nothing is cut off."""
    if isinstance(value, Mapping) and value:
        return [p for k, v in value.items() for p in _flatten(f"{path}.{k}", v)]
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return [p for i, v in enumerate(value) for p in _flatten(f"{path}[{i}]", v)]
    return [(path, value)]


def value_text(value: Any, limit: int = MAX_VALUE) -> str:
    if value is UNKNOWN:
        return "(known after apply)"
    if value == SENSITIVE:
        return SENSITIVE
    if value is None:
        return "(none)"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if not limit or len(text) <= limit else text[: limit - 1] + "…"


def change_lines(change: FieldChange) -> list[str]:
    """A field's change; dicts and lists are opened up so one extra entry is visible."""
    if change.sensitive:
        return [f"{change.path}: (sensitive)"]
    before, after = change.before, change.after
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        lines = []
        for key in sorted(set(before) | set(after), key=str):
            if before.get(key) != after.get(key):
                lines += change_lines(
                    FieldChange(f"{change.path}.{key}", before.get(key), after.get(key))
                )
        return lines or [f"{change.path}: {value_text(before)} → {value_text(after)}"]
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and len(before) == len(after)
        and all(isinstance(v, Mapping) for v in [*before, *after])
    ):
        # Same-length lists of documents (policy statements): show what changed inside each.
        return [
            line
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            if b != a
            for line in change_lines(FieldChange(f"{change.path}[{i}]", b, a))
        ]
    if isinstance(before, list) and isinstance(after, list) and before and after:
        gone = [v for v in before if v not in after]
        new = [v for v in after if v not in before]
        if gone or new:
            return [f"{change.path}: - {value_text(v)}" for v in gone] + [
                f"{change.path}: + {value_text(v)}" for v in new
            ]
    if before is None:
        return [f"{path}: {value_text(v, limit=0)}" for path, v in _flatten(change.path, after)]
    suffix = "  (forces replacement)" if change.immutable else ""
    return [f"{change.path}: {value_text(before)} → {value_text(after)}{suffix}"]


def summary(plan: Plan) -> str:
    c = plan.counts()
    text = (
        f"Plan: {c['create']} to create, {c['update']} to update, {c['replace']} to replace, "
        f"{c['delete']} to delete, {c['noop']} unchanged."
    )
    extra = [f"{c[k]} {k}" for k in ("blocked", "orphan", "unknown") if c[k]]
    return text + (f" {', '.join(extra)}." if extra else "")


def calls_text(calls: Mapping[str, Any]) -> str:
    return (
        f"AWS API calls: {calls.get('total', 0)} ({calls.get('reads', 0)} reads, "
        f"{calls.get('writes', 0)} writes, {calls.get('retries', 0)} retries)"
    )


def print_plan(plan: Plan, console: Console, show_noop: bool = False, fields: bool = True) -> None:
    for stack in sorted({a.stack for a in plan.actions}):
        console.print(f"[bold]Stack {escape(stack)}[/bold]")
        for action in [a for a in plan.actions if a.stack == stack]:
            if action.type is A.NOOP and not (show_noop or action.waived or action.warnings):
                continue
            _print_action(action, console, fields)
        console.print()
    for error in plan.errors:
        console.print(f"[bold red]error:[/bold red] {escape(error)}")
    console.print(f"[bold]{summary(plan)}[/bold]")


def _print_action(action: Action, console: Console, fields: bool = True) -> None:
    style = STYLE[action.type]
    head = f"[{style}]{SYMBOL[action.type]:>3} {action.kind:<16} {escape(action.name())}[/{style}]"
    if action.reason:
        head += f"  [dim]({escape(action.reason)})[/dim]"
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


def plan_markdown(plan: Plan, calls: Mapping[str, Any] | None = None) -> str:
    out = ["### plumb plan", "", f"**{summary(plan)}**", ""]
    for stack in sorted({a.stack for a in plan.actions}):
        rows = [a for a in plan.actions if a.stack == stack and (a.type is not A.NOOP or a.waived)]
        out += [f"#### {stack}", ""]
        if not rows:
            out += ["No changes.", ""]
            continue
        out += ["| | kind | resource | changes |", "|---|---|---|---|"]
        for a in rows:
            details = "<br>".join(_md(line) for c in a.changes for line in change_lines(c))
            if a.reason:
                details = f"_{_md(a.reason)}_" + (f"<br>{details}" if details else "")
            out.append(f"| `{SYMBOL[a.type]}` | {a.kind} | `{a.name()}` | {details} |")
        out.append("")
    for w in plan.warnings:
        out.append(f"- ⚠️ {_md(w)}")
    for e in plan.errors:
        out.append(f"- ❌ {_md(e)}")
    if calls:
        out += ["", calls_text(calls)]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
