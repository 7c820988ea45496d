"""`plumb iam-policy`: the least-privilege IAM policy plumb itself needs. It reads only the
kinds' declarations: no AWS credentials, no state database."""

from __future__ import annotations

import json

import click

from controller.cli_command import State, command


@click.command(name="iam-policy")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    envvar="PLUMB_IAM_KINDS",
    help="Only what this kind needs (repeatable; default every kind).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "compact"]),
    default="json",
    show_default=True,
    envvar="PLUMB_IAM_FORMAT",
    help="'json' is indented; 'compact' is one line, for a shell variable or an API call.",
)
@command
def iam_policy(state: State, kinds: tuple[str, ...], fmt: str) -> int:
    """Print the least-privilege IAM policy plumb needs, from what each kind declares."""
    from controller import iam_policy as policy  # loads the kinds, only when asked for

    document = policy.build(kinds)
    if fmt == "compact":
        click.echo(json.dumps(document, separators=(",", ":")))
    else:
        click.echo(json.dumps(document, indent=2))
    return 0
