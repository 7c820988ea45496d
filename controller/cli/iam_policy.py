"""`plumb iam-policy`: the least-privilege IAM policy plumb itself needs. It reads only the
kinds' declarations and, with --specs, the specs: no AWS credentials, no state database."""

from __future__ import annotations

import json
from typing import Any

import click

from controller.cli.command import State, command
from controller.cli.options import format_option
from controller.errors import PlumbError


@click.command(name="iam-policy")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    envvar="PLUMB_IAM_KINDS",
    help="Only what this kind needs (repeatable; default every kind).",
)
@click.option(
    "--specs",
    "specs",
    multiple=True,
    envvar="PLUMB_IAM_SPECS",
    help="Only what the stacks in these spec files or folders need, on their names "
    "(repeatable; default: every kind, any name).",
)
@format_option(
    "IAM",
    "json",
    "compact",
    default="json",
    show_default=True,
    help="'json' is one indented document; 'compact' is one managed policy a line, each "
    "under IAM's 6,144 characters.",
)
@click.option(
    "--boundary-arn",
    default="",
    envvar="PLUMB_PERMISSIONS_BOUNDARY",
    help="Allow creating a role, or giving it a policy, only with this permissions boundary, "
    "and deny removing one.",
)
@click.option(
    "--boundary",
    "print_boundary",
    is_flag=True,
    envvar="PLUMB_IAM_BOUNDARY",
    help="Print the permissions boundary for the roles plumb creates instead.",
)
@command
def iam_policy(
    state: State,
    kinds: tuple[str, ...],
    specs: tuple[str, ...],
    fmt: str,
    boundary_arn: str,
    print_boundary: bool,
) -> int:
    """Print the least-privilege IAM policy plumb needs, from what each kind declares."""
    # Loaded only when asked for: they load the kinds.
    from controller.engine import iam_targets
    from controller.kinds import iam_documents, iam_policy, iam_scope

    if kinds and specs:
        raise PlumbError("give --kind or --specs, not both: --specs takes the kinds its stacks use")
    if specs:
        chosen, target = iam_targets.for_specs(specs, boundary_arn)
    else:
        chosen, target = iam_policy.kinds_for(kinds), iam_scope.Target(boundary=boundary_arn)
    if print_boundary:
        _echo([iam_documents.boundary(chosen)], fmt)
        return 0
    document = iam_policy.build_for(chosen, target)
    _echo(iam_documents.managed_policies(document) if fmt == "compact" else [document], fmt)
    return 0


def _echo(documents: list[dict[str, Any]], fmt: str) -> None:
    for document in documents:
        if fmt == "compact":
            click.echo(json.dumps(document, separators=(",", ":")))
        else:
            click.echo(json.dumps(document, indent=2))
