"""An apply as it goes: a progress bar on a terminal, a line per action ended elsewhere, and
an `action` event per action in JSON mode."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from controller import logs
from controller.engine import planfile
from controller.engine.desired import Desired
from controller.engine.plan import Plan, PlanOptions
from controller.engine.runner import Runner, RunResult
from controller.model import Action, ActionType


def apply_with_progress(
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
            on_event=_on_event(progress, task, console),
            reviewed=reviewed,
            wait=wait,
            confirm=asked if confirm is not None else None,
        )


def _on_event(progress: Progress, task: TaskID, console: Console) -> Callable[[Action, str], None]:
    # Without a terminal, progress goes to stderr as each action ends (a CI log shows
    # a long run moving); the result, in a stable order, goes to stdout at the end.
    log = None if console.is_terminal else Console(stderr=True, highlight=False)

    def on_event(action: Action, status: str) -> None:
        if logs.active():
            if action.type.mutates or action.type is ActionType.BLOCKED:
                logs.emit("action", id=action.logical_id, type=action.type.value, status=status)
        elif action.type.mutates:
            progress.update(task, advance=1, description=f"{status} {action.logical_id}")
            if log is not None:
                log.print(f"  {status:<9} {action.type.value:<7} {action.logical_id}")

    return on_event
