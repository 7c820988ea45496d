"""`plumb run`: the long-lived loop's command line."""

from __future__ import annotations

import click

from controller.cli_command import State, command
from controller.cli_parts import Runner, listen_address


@click.command()
@click.option("--repo", required=True, envvar="PLUMB_REPO", help="Git repository URL or path.")
@click.option("--branch", default="main", show_default=True, envvar="PLUMB_BRANCH")
@click.option("--path", "spec_path", default="specs", show_default=True, envvar="PLUMB_PATH")
@click.option("--interval", type=click.IntRange(10), default=300, show_default=True)
@click.option(
    "--listen",
    default="127.0.0.1:8080",
    show_default=True,
    callback=listen_address,
    help="HTTP endpoint (/healthz, /readyz, /metrics, POST /sync), HOST:PORT.",
)
@click.option("--once", is_flag=True, help="Run one cycle and exit (for scheduled tasks).")
@command
def run(
    state: State, repo: str, branch: str, spec_path: str, interval: int, listen: str, once: bool
) -> int:
    """The long-lived loop: sync every --interval seconds."""
    from controller import scheduler

    return scheduler.serve(
        Runner(state.settings),
        state.settings,
        repo,
        branch,
        spec_path,
        interval,
        listen,
        once,
        state.console,
    )
