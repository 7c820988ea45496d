"""`plumb run`: the long-lived loop's command line."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from controller.cli.command import State, command
from controller.cli.options import REQUIRE_SIGNED, Runner, listen_address
from controller.loop import git_inputs


@click.command()
@click.option("--repo", required=True, envvar="PLUMB_REPO", help="Git repository URL or path.")
@click.option("--branch", default="main", show_default=True, envvar="PLUMB_BRANCH")
@click.option("--path", "spec_path", default="specs", show_default=True, envvar="PLUMB_PATH")
@click.option(
    "--interval",
    type=click.IntRange(10),
    default=300,
    show_default=True,
    envvar="PLUMB_INTERVAL",
    help="Seconds between cycles.",
)
@click.option(
    "--jitter",
    type=click.IntRange(0, 3600),
    default=None,
    envvar="PLUMB_JITTER",
    help="Up to this many seconds added to each interval at random, so replicas do not "
    "run in step (default: a tenth of the interval, at most 60).",
)
@click.option(
    "--listen",
    default="127.0.0.1:8080",
    show_default=True,
    callback=listen_address,
    envvar="PLUMB_LISTEN",
    help="HTTP endpoint (/healthz, /readyz, /metrics, POST /sync), HOST:PORT; loopback "
    "unless told otherwise (0.0.0.0:8080 in a container).",
)
@click.option(
    "--once",
    is_flag=True,
    envvar="PLUMB_ONCE",
    help="Run one cycle and exit (a scheduled task).",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "text"]),
    default="auto",
    show_default=True,
    envvar="PLUMB_LOG_FORMAT",
    help="json: one event per line on stdout, with run and stack; auto: json unless "
    "stdout is a terminal.",
)
@REQUIRE_SIGNED
@command
def run(
    state: State,
    repo: str,
    branch: str,
    spec_path: str,
    interval: int,
    jitter: int | None,
    listen: str,
    once: bool,
    log_format: str,
    keyring: Path | None,
) -> int:
    """The long-lived loop: sync every --interval seconds."""
    from controller import logs
    from controller.cli.verbs import converge_shared
    from controller.loop import scheduler

    git_inputs.source(repo, branch, spec_path)  # before the state opens: bad input records nothing

    as_json = log_format == "json" or (log_format == "auto" and not sys.stdout.isatty())
    with logs.json_mode() if as_json else contextlib.nullcontext(state.console) as console:
        return scheduler.serve(
            Runner(state.settings),
            state.settings,
            repo,
            branch,
            spec_path,
            interval,
            listen,
            once,
            console,
            converge=converge_shared,
            keyring=keyring,
            jitter=jitter,
        )
