"""`plumb plan` and `plumb apply`: a plan shown (or saved, sealed under the plan key), and
AWS converged to the specs or to a saved plan exactly as reviewed."""

from __future__ import annotations

import click

from controller.audit.actor import operator
from controller.cli.command import State, command
from controller.cli.options import (
    ALLOW_DELETES,
    ALLOW_REPLACE,
    PLAN_KEY,
    SPECS,
    STACK,
    Command,
    PlanOptions,
    Runner,
    format_option,
    out_option,
    planfile,
    verbs,
)


@click.command(cls=Command)
@SPECS
@STACK
@out_option("PLAN", "Save the plan to apply it later as reviewed.")
@format_option("PLAN", "text", "json", "markdown", default="text")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    envvar="PLUMB_DETAILED_EXITCODE",
    help="Exit 2 when there are changes or blocked resources, 1 when a kind could not be read.",
)
@ALLOW_REPLACE
@ALLOW_DELETES
@PLAN_KEY
@command
def plan(
    state: State,
    specs: str,
    stacks: tuple[str, ...],
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
    allow_replace: bool,
    allow_deletes: bool,
    plan_key: bytes | None,
) -> int:
    """Show what apply would change, field by field."""
    desired = verbs.load_desired(specs, stacks)
    options = PlanOptions(allow_replace=allow_replace, allow_deletes=allow_deletes)
    key = planfile.plan_key(plan_key, state.settings.audit_key)
    return verbs.do_plan(
        Runner(state.settings), desired, options, fmt, out, detailed_exitcode, state.console, key
    )


@click.command(cls=Command)
@SPECS
@STACK
@click.option(
    "--plan",
    "plan_file",
    envvar="PLUMB_PLAN",
    default=None,
    help="Apply a saved plan exactly as reviewed.",
)
@click.option("--yes", is_flag=True, envvar="PLUMB_YES", help="Do not ask for confirmation.")
@click.option(
    "--wait",
    type=click.FloatRange(0, 86400),
    envvar="PLUMB_WAIT",
    default=0,
    help="Seconds to wait for a stack another plumb run holds (default: stop at once).",
)
@ALLOW_REPLACE
@ALLOW_DELETES
@PLAN_KEY
@command
def apply(
    state: State,
    specs: str,
    stacks: tuple[str, ...],
    plan_file: str | None,
    yes: bool,
    wait: float,
    allow_replace: bool,
    allow_deletes: bool,
    plan_key: bytes | None,
) -> int:
    """Converge AWS to the specs (or to a saved plan)."""
    given = click.get_current_context().get_parameter_source("specs")
    if plan_file and given is click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError(
            f"give SPECS or --plan, not both: a saved plan applies exactly what was reviewed, "
            f"so {specs} would be ignored"
        )
    if plan_file:
        from controller.engine.plan_checks import (
            load_checked,  # not at import: validate stays light
        )

        # Before the state opens: a refused plan records no run.
        saved = load_checked(plan_file, planfile.plan_key(plan_key, state.settings.audit_key))
        runner = Runner(state.settings)
        desired = verbs.Desired(
            saved.resources, saved.policies, saved.commit, plan_file, operator()
        )
        return verbs.do_apply(
            runner,
            desired.only(stacks),
            saved.options,
            True,
            state.console,
            reviewed=saved,
            wait=wait,
        )
    desired = verbs.load_desired(specs, stacks)  # before the state opens: bad input touches nothing
    options = PlanOptions(allow_replace=allow_replace, allow_deletes=allow_deletes)
    return verbs.do_apply(Runner(state.settings), desired, options, yes, state.console, wait=wait)
