"""The command line: click commands that parse options and hand over to verbs.py."""

from __future__ import annotations

from pathlib import Path

import click

from controller.cli.command import State, command
from controller.cli.iam_policy import iam_policy
from controller.cli.options import (
    REQUIRE_SIGNED,
    SPECS,
    STACK,
    Group,
    Runner,
    audit,
    audit_options,
    desired_specs,
    format_option,
    history_view,
    recorded_state,
    sync_cycle,
    use_audit,
    verbs,
)
from controller.cli.plan_apply import apply, plan
from controller.cli.report import report_cmd
from controller.cli.run import run
from controller.cli.schema import schema
from controller.config import DEFAULT_LEASE, DEFAULT_WAIT, Settings
from controller.loop import git_inputs


@click.group(cls=Group)
@click.option(
    "--state",
    "state_url",
    envvar="PLUMB_STATE",
    default=None,
    help="SQLAlchemy URL of the state (default sqlite:///.plumb/state.db).",
)
@click.option(
    "--region",
    envvar="PLUMB_REGION",
    default=None,
    help="Default AWS region (else AWS_DEFAULT_REGION, else us-east-1).",
)
@click.option(
    "--aws",
    "aws_mode",
    type=click.Choice(["default", "embedded"]),
    envvar="PLUMB_AWS",
    default="default",
    help="'embedded' starts an in-process moto server on loopback.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    envvar="PLUMB_WORKERS",
    default=8,
    help="Parallel AWS workers.",
)
@click.option(
    "--ready-wait",
    "wait_seconds",
    type=click.FloatRange(0, 3600),
    envvar="PLUMB_READY_WAIT",
    default=DEFAULT_WAIT,
    show_default=True,
    help="Seconds a run may wait, in all, for resources still becoming ready (DocumentDB, "
    "Redis, NAT); past it the run ends 'progressing' and the next run goes on.",
)
@click.option(
    "--lease",
    "lease_seconds",
    type=click.FloatRange(3, 3600),
    envvar="PLUMB_LEASE_SECONDS",
    default=DEFAULT_LEASE,
    show_default=True,
    help="Seconds a stack's lease lasts unless renewed (every third of it, while a run "
    "works): how soon the stacks of a replica that died pass to another.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(1, 50),
    envvar="PLUMB_MAX_ATTEMPTS",
    default=10,
    show_default=True,
    help="Attempts per AWS call, the first included, before a throttled or failing call "
    "gives up (botocore's adaptive retries).",
)
@audit_options
@click.version_option(package_name="plumb-gitops")
@click.pass_context
def main(
    ctx: click.Context,
    state_url: str | None,
    region: str | None,
    aws_mode: str,
    workers: int,
    wait_seconds: float,
    lease_seconds: float,
    max_attempts: int,
    audit_given: dict[str, object],
) -> None:
    """plumb keeps AWS environments true to git."""
    settings = Settings(
        aws=aws_mode, workers=workers, wait_seconds=wait_seconds, lease_seconds=lease_seconds
    )
    settings.max_attempts = max_attempts
    if state_url:
        settings.state_url = state_url
    if region:
        settings.region = region
    ctx.obj = State(use_audit(settings, audit_given))


@main.command()
@click.argument("specs", nargs=-1, type=click.Path())
@command
def validate(state: State, specs: tuple[str, ...]) -> int:
    """Check specs (YAML, schema, semantics); exit 1 on any error.

    SPECS are folders or files, validated together (default: specs); a pre-commit hook
    passes the files a commit changes."""
    return desired_specs.do_validate(specs or ("specs",), state.console)


@main.command()
@format_option("LOCKS", "text", "json", default="text")
@command
def locks(state: State, fmt: str) -> int:
    """Who holds which stack: host, pid, run, since when, and the lease's time left."""
    return verbs.do_locks(recorded_state(state.settings), fmt, state.console)


@main.command()
@SPECS
@STACK
@command
def drift(state: State, specs: str, stacks: tuple[str, ...]) -> int:
    """Observe only: exit 0 in sync, 2 when anything drifted."""
    desired = verbs.load_desired(specs, stacks)
    return verbs.do_drift(Runner(state.settings), desired, state.console)


@main.command()
@click.option("--repo", required=True, envvar="PLUMB_REPO", help="Git repository URL or path.")
@click.option("--branch", default="main", show_default=True, envvar="PLUMB_BRANCH")
@click.option("--path", "spec_path", default="specs", show_default=True, envvar="PLUMB_PATH")
@REQUIRE_SIGNED
@command
def sync(state: State, repo: str, branch: str, spec_path: str, keyring: Path | None) -> int:
    """One GitOps cycle: fetch the branch, pin the commit, converge."""
    git_inputs.source(repo, branch, spec_path)  # before the state opens: bad input records nothing
    return sync_cycle.do_sync(
        Runner(state.settings),
        state.settings,
        repo,
        branch,
        spec_path,
        state.console,
        converge=verbs.converge_shared,
        keyring=keyring,
    )


@main.command()
@STACK
@click.option("--limit", default=20, show_default=True, envvar="PLUMB_LIMIT")
@command
def history(state: State, stacks: tuple[str, ...], limit: int) -> int:
    """Recent runs, newest first."""
    store = recorded_state(state.settings)
    return history_view.print_history(store, stacks, limit, state.console)


@main.group(name="audit")
def audit_group() -> None:
    """Check the run history offline."""


@audit_group.command()
@audit_options
@click.option(
    "--without-key",
    is_flag=True,
    envvar="PLUMB_AUDIT_WITHOUT_KEY",
    help="Runs sealed with the audit key are listed, not failed, when it is not given: "
    "their links, positions and anchor lines are still checked.",
)
@command
def verify(state: State, audit_given: dict[str, object], without_key: bool) -> int:
    """Recompute the hash chain and compare it with its anchor: exit 1 if any run was
    altered, removed, reordered or cut off, the database is an older copy, or a run is
    outside the chain."""
    return audit.do_verify(use_audit(state.settings, audit_given), without_key, state.console)


@main.command()
@click.option(
    "--keep",
    is_flag=True,
    envvar="PLUMB_KEEP",
    help="Keep the temporary folder: its state and reports.",
)
@command
def demo(state: State, keep: bool) -> int:
    """The whole loop on an embedded AWS endpoint, in a temporary folder."""
    from controller.cli.demo.run import run_demo

    return run_demo(state.console, keep)


main.add_command(plan)
main.add_command(apply)
main.add_command(run)
main.add_command(report_cmd)
main.add_command(iam_policy)
main.add_command(schema)

if __name__ == "__main__":
    main()
