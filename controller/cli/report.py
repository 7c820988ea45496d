"""`plumb report`: a run's report, or with --since/--until one report for a period."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import click

from controller.cli.command import State, command
from controller.cli.options import audit, format_option, out_option, recorded_state, report
from controller.errors import PlumbError
from controller.output_file import write_output


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An ISO date or timestamp, as UTC. A bare date given to --until means its whole day."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            at = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return at + timedelta(days=1) if param.name == "until" else at
        at = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: give YYYY-MM-DD or an ISO timestamp (2026-03-01T12:00:00Z)"
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@click.command(name="report")
@click.argument("run_ref", required=False, default=None)
@click.option(
    "--since",
    envvar="PLUMB_REPORT_SINCE",
    default=None,
    callback=_when,
    help="Report on every run begun at or after this date or time (YYYY-MM-DD, or an ISO "
    "timestamp; UTC unless it says otherwise) instead of one run.",
)
@click.option(
    "--until",
    envvar="PLUMB_REPORT_UNTIL",
    default=None,
    callback=_when,
    help="With --since, or alone: runs begun before this time; a bare date includes its day.",
)
@format_option("REPORT", "html", "json", "markdown", default="markdown")
@out_option("REPORT", "Write to a file instead of stdout.")
@command
def report_cmd(
    state: State,
    run_ref: str | None,
    since: datetime | None,
    until: datetime | None,
    fmt: str,
    out: str | None,
) -> int:
    """A run's report, or a period's with --since/--until (JSON, Markdown, or a
    self-contained HTML page)."""
    if since is not None or until is not None:
        if run_ref is not None:
            raise click.UsageError(
                f"give a run ({run_ref}) or a period (--since/--until), not both"
            )
        if since is not None and until is not None and since >= until:
            raise click.BadParameter(
                f"the period ends ({until.isoformat()}) before it begins ({since.isoformat()})",
                param_hint="--until",
            )
        text = _period(state, since, until, fmt)
    else:
        run, neighbours = _run(state, run_ref or "latest")
        text = report.render(run, fmt, neighbours)
    if out:
        write_output(out, text)
        state.console.print(f"wrote {out}")
    else:
        click.echo(text)
    return 0


def _run(state: State, run_ref: str) -> tuple[dict[str, object], tuple[int | None, int | None]]:
    if not (run_ref.isdigit() or run_ref == "latest"):
        raise click.BadParameter(
            f"{run_ref!r} is not a run: give a run number or 'latest' (`plumb history` lists them)",
            param_hint="RUN",
        )
    from controller.state import shown_url  # not at import: `plumb validate` loads no state

    store = recorded_state(state.settings)
    try:
        run = store.runs.get(int(run_ref) if run_ref.isdigit() else run_ref)
    except KeyError:
        what = "no run is recorded yet" if run_ref == "latest" else f"there is no run {run_ref}"
        raise PlumbError(
            f"{what} in {shown_url(state.settings.state_url)}; `plumb history` lists the runs"
        ) from None
    return run, store.periods.chain_neighbours(run["seq"])


def _period(state: State, since: datetime | None, until: datetime | None, fmt: str) -> str:
    from controller.reports import (
        period as period_report,  # not at import: `plumb validate` loads no state
    )

    store = recorded_state(state.settings)
    checked = audit.check(state.settings, without_key=True)
    model = period_report.build(store, since, until, checked)
    return period_report.render(model, fmt)
