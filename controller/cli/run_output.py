"""What `plumb plan` and `plumb apply` print of a run: the plan (text, JSON or Markdown),
each action's outcome in the order the graph runs them, the warnings not said before, and
a sealed run's anchor failures."""

from __future__ import annotations

import json

import click
from rich.console import Console

from controller.engine import planfile
from controller.engine.graph import Graph
from controller.engine.runner import RunResult
from controller.model import ActionType
from controller.reports import plan_markdown, render
from controller.state.store import Store
from controller.words import counted

A = ActionType


def show_anchor_failures(result: RunResult) -> None:
    # On stderr: a plan printed as JSON on stdout stays JSON.
    for failure in result.anchor_failures:
        click.echo(
            f"warning: run {result.run_id} is sealed, but its chain head is not anchored "
            f"outside the database: {failure}; `plumb audit verify` will report it",
            err=True,
        )


def show_plan(result: RunResult, fmt: str, console: Console, key: bytes | None) -> None:
    if fmt == "json":
        click.echo(render_json(result, key))
        return
    if fmt == "markdown":
        click.echo(plan_markdown.plan_markdown(result.plan, result.api_calls))
        return
    render.print_plan(result.plan, console)
    render.print_waivers(result.plan, console)
    console.print(render.calls_text(result.api_calls) + f" in {result.seconds:.2f} s")


def render_json(result: RunResult, key: bytes | None = None) -> str:
    plan = json.loads(json.dumps(planfile.plan_to_json(result.plan), default=str))
    data = planfile.sealed(plan, key)
    data["apiCalls"] = result.api_calls
    data["runId"] = result.run_id
    return json.dumps(data, indent=2, default=str)


def said_before(store: Store, result: RunResult) -> tuple[int, set[str]]:
    """The previous apply of the same stacks, and the warnings it already gave."""
    stacks = sorted({a.stack for a in result.plan.actions})
    for run in store.runs.recent(stack=stacks[0] if stacks else None, limit=20):
        if run["id"] < result.run_id and run["command"] == "apply" and run["stacks"] == stacks:
            return int(run["id"]), set(run.get("warnings") or ())
    return 0, set()


def show_apply(
    result: RunResult, console: Console, before: tuple[int, set[str]] = (0, set())
) -> None:
    # In the order the graph runs them (wave, then logical id), not the order the threads
    # happened to finish in: two runs of one plan print the same lines.
    waves = {
        lid: n
        for n, wave in enumerate(Graph(result.plan.resources.values()).waves())
        for lid in wave
    }
    changed = sorted(
        (a for a in result.plan.actions if a.type.mutates),
        key=lambda a: (waves.get(a.logical_id, len(waves)), a.logical_id),
    )
    for action in changed:
        outcome = result.outcomes.get(action.logical_id)
        status = outcome.status if outcome else "unchanged"
        colour = {"applied": "green", "failed": "red", "skipped": "red", "pending": "yellow"}
        style = colour.get(status, "dim")
        line = f"[{style}]{status:<9}[/] {action.type.value:<7} {action.logical_id}"
        if outcome and outcome.error:
            line += f"\n            {outcome.error}"
        console.print(line)
    for action in result.plan.actions:
        if action.type in (A.BLOCKED, A.UNKNOWN):
            console.print(
                f"[bold red]{action.type.value:<9}[/] {action.logical_id}: {action.reason}"
            )
    # A warning the last apply of these stacks gave already (a secret still without a
    # value) is counted, not repeated run after run; a new one is shown whole.
    last, said = before
    again = [w for w in result.plan.warnings if w in said]
    for warning in result.plan.warnings:
        if warning not in said:
            console.print(f"[yellow]warning:[/yellow] {warning}")
    if again:
        console.print(
            f"[yellow]{counted(len(again), 'warning')} unchanged since run {last}[/yellow] "
            "(listed in this run's report)"
        )
    render.print_waivers(result.plan, console)
    console.print(
        f"[bold]Run {result.run_id}: {result.outcome}.[/bold] "
        + render.calls_text(result.api_calls)
        + f" in {result.seconds:.2f} s"
    )
    console.print(f"Report: {result.reports.get('html')}")
