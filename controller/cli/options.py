"""The command line's parts: shared arguments and options, their checks, the command class
that tells a user where a misplaced global option goes, and the engine loaded late."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from controller.config import DEFAULT_RETAIN_DAYS, Settings

SPECS = click.argument("specs", required=False, default="specs")
# Every option has an environment variable, named PLUMB_<OPTION>, or PLUMB_<COMMAND>_<OPTION>
# where one option name means different things in different commands (--format, --out).
# A variable of a multiple option holds its values separated by spaces.
STACK = click.option(
    "--stack",
    "stacks",
    multiple=True,
    envvar="PLUMB_STACK",
    help="Only this stack (repeatable).",
)
ALLOW_REPLACE = click.option(
    "--allow-replace",
    is_flag=True,
    envvar="PLUMB_ALLOW_REPLACE",
    help="Allow destroy-and-recreate of resources.",
)
ALLOW_DELETES = click.option(
    "--allow-deletes",
    is_flag=True,
    envvar="PLUMB_ALLOW_DELETES",
    help="Allow more deletes than policy.maxDeletes.",
)
REQUIRE_SIGNED = click.option(
    "--require-signed",
    "keyring",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="PLUMB_REQUIRE_SIGNED",
    default=None,
    help="Apply only commits signed by a key in this keyring (public keys exported with "
    "`gpg --export`); any other head is refused and the commit in force stays.",
)


def output_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An output file whose folder exists, checked when the flags are read: before any
    spec is loaded or any AWS call made, so a typo costs nothing."""
    if value is None:
        return None
    folder = Path(value).expanduser().resolve().parent
    if not folder.is_dir():
        raise click.BadParameter(f"folder {folder} does not exist; create it or choose another")
    if Path(value).is_dir():
        raise click.BadParameter(f"{value} is a folder; give a file name")
    return value


def _read_key(ctx: click.Context, param: click.Parameter, value: Path | None) -> bytes | None:
    if value is None:
        return None
    try:
        key = value.read_bytes().strip()
    except OSError as err:
        raise click.BadParameter(f"cannot read {value}: {err.strerror}") from None
    if not key:
        raise click.BadParameter(f"{value} is empty; put the key in it")
    return key


def key_file(flag: str, dest: str, envvar: str, help: str) -> Callable[[Any], Any]:
    """An option naming a file that holds a key, read when the flags are read: a missing,
    unreadable or empty file is refused before any work."""
    return click.option(
        flag,
        dest,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        envvar=envvar,
        default=None,
        callback=_read_key,
        help=help,
    )


def format_option(command: str, *choices: str, default: str, **more: Any) -> Callable[..., Any]:
    """--format, one of `choices`, from PLUMB_<COMMAND>_FORMAT: its meaning is the command's."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        envvar=f"PLUMB_{command}_FORMAT",
        default=default,
        **more,
    )


def out_option(command: str, help: str) -> Callable[..., Any]:
    """-o/--out, a file whose folder is checked when the flags are read, from
    PLUMB_<COMMAND>_OUT."""
    return click.option(
        "-o", "--out", envvar=f"PLUMB_{command}_OUT", default=None, callback=output_path, help=help
    )


PLAN_KEY = key_file(
    "--plan-key-file",
    "plan_key",
    "PLUMB_PLAN_KEY_FILE",
    "A file holding the plan key (else PLUMB_PLAN_KEY, else the audit key): a saved "
    "plan is sealed with an HMAC-SHA256 under it, and apply --plan refuses any plan not "
    "sealed with it.",
)

AUDIT_OPTIONS = (
    key_file(
        "--audit-key-file",
        "audit_key",
        "PLUMB_AUDIT_KEY_FILE",
        "A file holding the audit key (else PLUMB_AUDIT_KEY): each new link of the run "
        "chain is an HMAC-SHA256 with it, which no one without the key can recompute.",
    ),
    click.option(
        "--audit-anchor",
        "audit_anchor",
        envvar="PLUMB_AUDIT_ANCHOR",
        default=None,
        callback=output_path,
        help="A file outside the database that each sealed run's chain head is appended to.",
    ),
    click.option(
        "--archive-bucket",
        envvar="PLUMB_ARCHIVE_BUCKET",
        default=None,
        help="An S3 bucket with Object Lock: each run's JSON report and chain head are "
        "written there in compliance mode.",
    ),
    click.option(
        "--archive-retain-days",
        type=click.IntRange(1, 36500),
        envvar="PLUMB_ARCHIVE_RETAIN_DAYS",
        default=None,
        help=f"Days the archive keeps each object locked (default {DEFAULT_RETAIN_DAYS}).",
    ),
)
_AUDIT_NAMES = ("audit_key", "audit_anchor", "archive_bucket", "archive_retain_days")


def audit_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The audit key, anchor and archive options, handed to the command as one `audit`
    mapping of what was given, `audit_given` (plumb itself takes them, and `audit verify` again)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        audit = {name: kwargs.pop(name) for name in _AUDIT_NAMES}
        return f(*args, audit_given=audit, **kwargs)

    for option in reversed(AUDIT_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


def use_audit(settings: Settings, audit: dict[str, Any]) -> Settings:
    """Settings with each audit option that was given; the others stay as they were."""
    for name, value in audit.items():
        if value is not None:
            setattr(settings, name, Path(value) if name == "audit_anchor" else value)
    return settings


class Command(click.Command):
    """A command that tells a user who put a global option after it where it goes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as err:
            names, up = set(), ctx.parent
            while up is not None:
                names |= {n for p in up.command.params for n in getattr(p, "opts", [])}
                up = up.parent
            if err.option_name in names:
                raise click.UsageError(
                    f"{err.option_name} is an option of plumb itself: put it before the "
                    f"command, as in `plumb {err.option_name} ... {_below_plumb(ctx)} ...`",
                    ctx,
                ) from None
            raise


def _below_plumb(ctx: click.Context) -> str:
    return ctx.command_path.partition(" ")[2] or ctx.command_path


class Group(click.Group):
    command_class = Command
    group_class = type  # subgroups (audit) are _Groups too


def listen_address(ctx: click.Context, param: click.Parameter, value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not HOST:PORT, as in 127.0.0.1:8080")
    return value


class Later:
    """A module imported when first used: `plumb validate` and `--help` never load boto3,
    SQLAlchemy or the engine (a pre-commit hook runs validate on every commit)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


verbs = Later("controller.cli.verbs")
sync_cycle = Later("controller.loop.cycle")
planfile = Later("controller.engine.planfile")
report = Later("controller.reports.run_report")
audit = Later("controller.audit.verify")
history_view = Later("controller.cli.history")
desired_specs = Later("controller.engine.desired")


def Runner(settings: Settings) -> Any:
    """The engine as the commands use it: each sealed run leaves its reports beside the
    state, and its anchor archives the JSON report."""
    from controller.engine.runner import Runner as Engine
    from controller.reports.files import records

    return Engine(settings, observers=records(settings))


def recorded_state(settings: Settings) -> Any:
    """The state for a command that only reads it (history, report, locks): one that plumb
    never wrote is refused, not made empty and reported on."""
    from controller.state.store import Store

    return Store(settings.state_url, must_exist=True)


def PlanOptions(allow_replace: bool = False, allow_deletes: bool = False) -> Any:
    from controller.engine.plan import PlanOptions as Options

    return Options(allow_replace=allow_replace, allow_deletes=allow_deletes)
