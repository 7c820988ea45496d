"""How a command runs: the console it prints to, the embedded endpoint when asked for, and
the one place plumb's errors become a message and an exit code instead of a traceback."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from controller.config import Settings
from controller.errors import PlumbError, SpecError
from controller.specs.bounds import limits, shown_issues
from controller.words import counted


class State:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Piped output is read in CI logs and PR comments: wide enough for a table.
        width = None if sys.stdout.isatty() else 160
        self.console = Console(highlight=False, soft_wrap=True, emoji=False, width=width)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


@contextlib.contextmanager
def _aws(settings: Settings) -> Iterator[None]:
    if settings.aws != "embedded":
        yield
        return
    from plumb_embedded.endpoint import embedded_aws

    with embedded_aws() as aws:
        click.echo(f"embedded AWS endpoint (moto) at {aws.endpoint}", err=True)
        yield


def _database_errors() -> tuple[type[BaseException], ...]:
    """SQLAlchemy's errors, once it is loaded: a command that never opened the state (validate,
    --help) raises none of them, and does not pay for importing SQLAlchemy to say so."""
    errors = sys.modules.get("sqlalchemy.exc")
    return (errors.SQLAlchemyError,) if errors is not None else ()


def command(fn: Callable[..., int]) -> Callable[..., None]:
    """Run a verb: exit with its code; plumb's errors become a message and exit 1."""

    @functools.wraps(fn)
    @click.pass_obj
    def wrapper(state: State, *args: Any, **kwargs: Any) -> None:
        try:
            limits()  # a bad PLUMB_MAX_* is one line before any work, not a refused commit
            with _aws(state.settings):
                code = fn(state, *args, **kwargs)
        except SpecError as err:
            lines, more = shown_issues(err.issues)
            for line in lines:
                # escaped: a message may hold brackets (an extra, a list index) that are not markup
                state.err.print(f"[red]error:[/red] {escape(line)}", soft_wrap=True)
            if more:
                state.err.print(escape(more), soft_wrap=True)
            state.err.print(f"{counted(len(err.issues), 'error')}; nothing was changed.")
            sys.exit(1)
        except PlumbError as err:
            state.err.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True)
            sys.exit(1)
        except _database_errors() as err:
            # the database went away mid-run, say: one line, not a traceback
            first = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
            state.err.print(f"[red]error:[/red] the state database failed: {escape(first)}")
            sys.exit(1)
        sys.exit(code)

    return wrapper
