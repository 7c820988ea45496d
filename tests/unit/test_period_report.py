"""The period report without AWS: which runs a period holds, how dates are read, and how a
refused commit's errors are split into file, line and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import text

from controller.cli.main import main
from controller.model import Action, ActionType, FieldChange
from controller.reports.html import error_rows
from controller.reports.run_report import render
from controller.state.store import Store

T0 = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "period.json").read_text())


@pytest.fixture
def state(state_url: str) -> str:
    """Four runs, 30 minutes apart from 2026-03-01 23:30 UTC: an update, two no-ops, a
    refused commit; on SQLite, and on PostgreSQL when PLUMB_TEST_POSTGRES is set."""
    url = state_url
    now = [T0]
    store = Store(url, clock=lambda: now[0])
    for i in range(3):
        now[0] = T0 + timedelta(minutes=30 * i)
        run_id = store.runs.begin("schedule", "sync", ["acme-prod"], {}, "repo#main")
        action = Action(
            ActionType.UPDATE if i == 0 else ActionType.NOOP,
            "Vpc",
            "acme-prod/network/vpc",
            changes=(FieldChange("enableDnsHostnames", False, True),) if i == 0 else (),
        )
        store.runs.record_change(run_id, action, "applied" if i == 0 else "skipped")
        store.chain.seal(run_id, "succeeded" if i == 0 else "no-changes")
    now[0] = T0 + timedelta(minutes=90)
    run_id = store.runs.begin("schedule", "sync", [], {"sha": "c" * 40}, "repo#main")
    store.chain.seal(
        run_id, "rejected", errors=["specs/acme-prod.yaml:3:5: spec.network.cidr: not a CIDR"]
    )
    store.close()
    return url


def _period(state: str, *args: str) -> dict:
    """The period's JSON report, checked against schemas/period.json."""
    result = CliRunner().invoke(main, ["--state", state, "report", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    model = json.loads(result.output)
    validator = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
    assert [e.message for e in validator.iter_errors(model)] == []
    return model


def test_a_period_holds_the_runs_begun_in_it(state: str) -> None:
    def ids(*args: str) -> list[int]:
        return [r["id"] for r in _period(state, *args)["runs"]]

    assert ids("--since", "2026-03-01", "--until", "2026-03-01") == [1]  # the whole day
    assert ids("--since", "2026-03-02") == [2, 3, 4]
    assert ids("--since", "2026-03-02T00:00:00Z", "--until", "2026-03-02T00:30:00Z") == [2]
    assert ids("--since", "2026-03-02T00:00:00+01:00") == [1, 2, 3, 4]  # 23:00 UTC
    assert ids("--until", "2026-03-01T23:30:00") == []  # until is where it ends


def test_a_period_counts_changes_and_refusals_and_checks_the_chain(state: str) -> None:
    model = _period(state, "--since", "2026-03-01")
    assert model["counts"] == {"runs": 4, "changes": 1, "failed": 0, "drift": 0, "rejected": 1}
    (change,) = model["changes"]
    assert change["logicalId"] == "acme-prod/network/vpc" and change["runId"] == 1
    assert model["rejected"][0]["errors"][0] == {
        "file": "specs/acme-prod.yaml",
        "line": "3",
        "column": "5",
        "field": "spec.network.cidr",
        "resource": "",
        "message": "not a CIDR",
    }
    assert model["chain"]["ok"] and model["chain"]["runsChecked"] == 4


def test_a_period_page_says_the_chain_is_broken(state: str) -> None:
    store = Store(state)
    with store.engine.begin() as conn:  # an administrator rewrites history
        conn.execute(text("UPDATE runs SET outcome = 'failed' WHERE id = 2"))
    store.close()
    chain = _period(state, "--since", "2026-03-02")["chain"]
    assert not chain["ok"] and chain["problems"][0].startswith("run 2: hash mismatch")
    page = CliRunner().invoke(
        main, ["--state", state, "report", "--since", "2026-03-02", "--format", "html"]
    )
    assert 'data-chain="broken"' in page.output and "CHAIN BROKEN" in page.output


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_a_period_renders_in_each_format(state: str, fmt: str) -> None:
    result = CliRunner().invoke(
        main, ["--state", state, "report", "--since", "2026-03-01", "--format", fmt]
    )
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output and "not a CIDR" in result.output


def test_the_run_page_folds_a_no_op_run(state: str) -> None:
    store = Store(state)
    run = store.runs.get(2)
    html = render(run, "html", store.periods.chain_neighbours(run["seq"]))
    store.close()
    assert '<details class="unchanged">' in html and 'data-unchanged="acme-prod">1<' in html
    assert 'href="run-000001.html"' in html and 'href="run-000003.html"' in html
    assert 'class="resource act-' not in html, "no block for an unchanged resource"


@pytest.mark.parametrize("fmt", ["html", "json", "markdown"])
def test_a_run_report_from_the_command_line(state: str, fmt: str) -> None:
    result = CliRunner().invoke(main, ["--state", state, "report", "2", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "plumb run 2" in result.output if fmt != "json" else json.loads(result.output)["id"]
    if fmt == "html":
        assert 'rel="prev" href="run-000001.html"' in result.output
        assert 'rel="next" href="run-000003.html"' in result.output


def test_errors_are_split_into_their_parts() -> None:
    rows = error_rows(
        [
            "specs/a.yaml:12:3: spec.service.cpu: must be 256 or more",
            "specs/a.yaml:4:1: duplicate key",
            "specs/b.yaml: not a mapping",
            "acme-prod/network/vpc: ServiceUnavailable: down",
            "git fetch failed: exit 128",
        ]
    )
    assert [(r["file"], r["line"], r["field"], r["resource"], r["message"]) for r in rows] == [
        ("specs/a.yaml", "12", "spec.service.cpu", "", "must be 256 or more"),
        ("specs/a.yaml", "4", "", "", "duplicate key"),
        ("specs/b.yaml", "", "", "", "not a mapping"),
        ("", "", "", "acme-prod/network/vpc", "ServiceUnavailable: down"),
        ("", "", "", "", "git fetch failed: exit 128"),
    ]
