"""What each command does, between the click layer (cli.py) and the engine (runner.py).

Each function returns the process exit code: 0 success, 1 error or invalid input, 2 changes
or drift present where the verb says so.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from controller import logs
from controller.engine import planfile
from controller.engine.desired import Desired, do_validate, load_desired  # noqa: F401 (re-exported)
from controller.engine.graph import Graph
from controller.engine.lease import Holder
from controller.engine.plan import Plan, PlanOptions
from controller.engine.runner import Runner, RunResult
from controller.errors import LockError
from controller.model import Action, ActionType
from controller.reports import plan_markdown, render
from controller.reports.changes import change_lines
from controller.state.store import Store
from controller.words import counted

A = ActionType
OK, ERROR, CHANGES = 0, 1, 2


def do_plan(
    runner: Runner,
    desired: Desired,
    options: PlanOptions,
    fmt: str,
    out: str | None,
    detailed: bool,
    console: Console,
    key: bytes | None = None,
) -> int:
    result = runner.plan(desired, options)
    if out:
        planfile.save(result.plan, out, desired.commit, key)
    _show_plan(result, fmt, console, key)
    show_anchor_failures(result)
    if out:
        console.print(f"Saved the plan to {out}; apply it with `plumb apply --plan {out}`.")
    if result.plan.errors:
        return ERROR  # a kind could not be read: no verdict either way
    # A blocked action is a difference the run will not make (a refused replace, a
    # resource not ours, drift held back): the account is not as the spec says.
    blocked = any(a.type is ActionType.BLOCKED for a in result.plan.actions)
    # Two resources carrying one plumb:id wait for a person to delete one: not in sync.
    if detailed and (result.plan.changes or blocked or result.plan.twins):
        return CHANGES
    return OK


def do_apply(
    runner: Runner,
    desired: Desired,
    options: PlanOptions,
    yes: bool,
    console: Console,
    reviewed: planfile.SavedPlan | None = None,
    trigger: str = "cli-apply",
    wait: float = 0.0,
) -> int:
    confirm = None
    if not yes and reviewed is None:
        if not _interactive():
            raise click.UsageError(
                "apply asks before it changes anything; pass --yes when "
                "there is no terminal to answer"
            )

        def confirm(plan: Plan) -> bool:
            """Shown the plan in the apply's own run, under its leases."""
            render.print_plan(plan, console)
            return click.confirm("Apply these changes?", default=False)

    result = _apply_with_progress(
        runner, desired, options, console, reviewed, trigger, wait, confirm
    )
    if result.outcome == "declined":
        console.print(f"Declined (run {result.run_id}); nothing changed.")
        return ERROR
    _show_apply(result, console, _said_before(runner.store, result))
    show_anchor_failures(result)
    return OK if result.outcome in ("succeeded", "no-changes", "progressing") else ERROR


def show_anchor_failures(result: RunResult) -> None:
    # On stderr: a plan printed as JSON on stdout stays JSON.
    for failure in result.anchor_failures:
        click.echo(
            f"warning: run {result.run_id} is sealed, but its chain head is not anchored "
            f"outside the database: {failure}; `plumb audit verify` will report it",
            err=True,
        )


def _interactive() -> bool:
    return sys.stdin.isatty()


def do_drift(runner: Runner, desired: Desired, console: Console) -> int:
    result = runner.plan(desired, PlanOptions(), trigger="cli-drift", command="drift")
    drifted = [
        a
        for a in result.plan.actions
        if a.type in (A.UPDATE, A.REPLACE, A.CREATE) or (a.type is A.BLOCKED and a.changes)
    ]
    for action in drifted:
        what = "missing" if action.type is A.CREATE else "drifted"
        console.print(f"[yellow]{what}:[/yellow] {action.kind} {action.logical_id}")
        if action.type is not A.CREATE:
            for change in action.changes:
                for line in change_lines(change):
                    console.print(f"    {line}")
    for action in result.plan.actions:
        for change in action.waived:
            console.print(f"[dim]waived: {action.logical_id} {change.path}[/dim]")
    for error in result.plan.errors:
        console.print(f"[bold red]error:[/bold red] {error}")
    render.print_waivers(result.plan, console)
    console.print(render.calls_text(result.api_calls))
    if result.plan.errors:
        return ERROR
    if drifted:
        console.print(f"[bold]{counted(len(drifted), 'resource')} out of sync.[/bold]")
        return CHANGES
    console.print("[green]In sync.[/green]")
    return OK


def converge_shared(
    runner: Runner, desired: Desired, options: PlanOptions, console: Console, trigger: str
) -> int:
    """Each stack in its own run, under its own lease: replicas sharing one state take the
    stacks between them, and a stack another replica holds is its work, not an error."""
    codes = [OK]
    for stack in desired.stacks:
        if runner.stopping.is_set():
            console.print(f"[dim]{stack}: not started, plumb is stopping[/dim]")
            continue
        try:
            with logs.about(stack=stack):
                codes.append(
                    do_apply(runner, desired.only([stack]), options, True, console, None, trigger)
                )
        except LockError as err:
            console.print(f"[dim]{stack}: skipped, another plumb has it ({err})[/dim]")
    return max(codes)


def do_locks(store: Store, fmt: str, console: Console) -> int:
    held = store.locks.rows()
    if fmt == "json":
        console.print_json(json.dumps(held))
        return OK
    if not held:
        console.print("No stack is locked.")
        return OK
    table = Table("stack", "holder", "run", "since", "lease left", box=None)
    for lock in held:
        holder = Holder.parse(str(lock["holder"]))
        left = "expired" if lock["expired"] else f"{lock['secondsLeft']} s"
        table.add_row(
            str(lock["stack"]),
            f"pid {holder.pid} on {holder.host}",
            str(holder.run or "-"),
            str(lock["acquiredAt"]),
            left,
        )
    console.print(table)
    return OK


def _apply_with_progress(
    runner: Runner,
    desired: Desired,
    options: PlanOptions,
    console: Console,
    reviewed: planfile.SavedPlan | None,
    trigger: str,
    wait: float,
    confirm: Callable[[Plan], bool] | None = None,
) -> RunResult:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task("applying", total=None)

        # Without a terminal, progress goes to stderr as each action ends (a CI log shows
        # a long run moving); the result, in a stable order, goes to stdout at the end.
        log = None if console.is_terminal else Console(stderr=True, highlight=False)

        def on_event(action: Action, status: str) -> None:
            if logs.active():
                if action.type.mutates or action.type is A.BLOCKED:
                    logs.emit("action", id=action.logical_id, type=action.type.value, status=status)
            elif action.type.mutates:
                progress.update(task, advance=1, description=f"{status} {action.logical_id}")
                if log is not None:
                    log.print(f"  {status:<9} {action.type.value:<7} {action.logical_id}")

        def asked(plan: Plan) -> bool:
            """The bar steps aside while the plan is shown and the question answered."""
            progress.stop()
            try:
                return confirm(plan) if confirm is not None else True
            finally:
                progress.start()

        return runner.apply(
            desired,
            options,
            trigger=trigger,
            on_event=on_event,
            reviewed=reviewed,
            wait=wait,
            confirm=asked if confirm is not None else None,
        )


def _show_plan(result: RunResult, fmt: str, console: Console, key: bytes | None) -> None:
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


def _said_before(store: Store, result: RunResult) -> tuple[int, set[str]]:
    """The previous apply of the same stacks, and the warnings it already gave."""
    stacks = sorted({a.stack for a in result.plan.actions})
    for run in store.runs.recent(stack=stacks[0] if stacks else None, limit=20):
        if run["id"] < result.run_id and run["command"] == "apply" and run["stacks"] == stacks:
            return int(run["id"]), set(run.get("warnings") or ())
    return 0, set()


def _show_apply(
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
