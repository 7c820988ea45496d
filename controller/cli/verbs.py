"""What each command does, between the click layer (main.py) and the engine (runner.py).

Each function returns the process exit code: 0 success, 1 error or invalid input, 2 changes
or drift present where the verb says so.
"""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from controller import logs
from controller.cli.apply_progress import apply_with_progress
from controller.cli.run_output import said_before, show_anchor_failures, show_apply, show_plan
from controller.engine import planfile
from controller.engine.desired import Desired, do_validate, load_desired  # noqa: F401 (re-exported)
from controller.engine.lease import Holder
from controller.engine.plan import Plan, PlanOptions
from controller.engine.runner import Runner
from controller.errors import LockError
from controller.model import ActionType
from controller.reports import render
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
    show_plan(result, fmt, console, key)
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

    result = apply_with_progress(
        runner, desired, options, console, reviewed, trigger, wait, confirm
    )
    if result.outcome == "declined":
        console.print(f"Declined (run {result.run_id}); nothing changed.")
        return ERROR
    show_apply(result, console, said_before(runner.store, result))
    show_anchor_failures(result)
    return OK if result.outcome in ("succeeded", "no-changes", "progressing") else ERROR


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
