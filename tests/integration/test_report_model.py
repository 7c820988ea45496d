"""Every kind of run, built through the engine on moto, validates against schemas/report.json
and renders in all three formats: a partial run, a first apply, a no-op, a drift repair, a
new commit, a plan, a drift check, a rejected commit and an interrupted run."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from controller.cli.demo.drift import shorten_lifecycle
from controller.cli.verbs import load_desired
from controller.engine.plan import PlanOptions
from controller.reports import run_report as report
from tests.integration.staging_runs import ROOT, STAGING, moto_account, staged_runs

SCHEMA = json.loads((ROOT / "schemas" / "report.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FormatChecker())


def problems(run: dict[str, Any]) -> list[str]:
    """What the JSON report of `run` breaks of the schema, one line each."""
    body = json.loads(report.render(run, "json"))
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in VALIDATOR.iter_errors(body)]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """One run of each kind, by name; built once, as they take a while on moto."""
    with moto_account():
        yield _history(tmp_path_factory.mktemp("history"))


def _history(tmp_path: Path) -> dict[str, dict[str, Any]]:
    specs, runner, desired, ids = staged_runs(tmp_path)
    ids["drift-check"] = runner.plan(desired, PlanOptions(), "cli-drift", "drift").run_id
    ids["plan"] = runner.plan(desired, PlanOptions()).run_id
    ids["repair"] = runner.apply(desired, PlanOptions()).run_id
    spec = specs / f"{STAGING}.yaml"
    spec.write_text(spec.read_text().replace("expireAfterDays: 30", "expireAfterDays: 45"))
    ids["commit"] = runner.apply(load_desired(specs), PlanOptions()).run_id
    commit = {"sha": "c" * 40, "author": "Eve <eve@example.com>", "message": "bad", "date": ""}
    ids["rejected"] = runner.record_rejected("schedule", commit, "repo#main", ["invalid spec"])
    shorten_lifecycle(STAGING)  # work for a run told to stop before it starts any
    runner.stopping.set()
    ids["interrupted"] = runner.apply(desired, PlanOptions()).run_id
    return {name: runner.store.runs.get(run_id) for name, run_id in ids.items()}


def test_every_kind_of_run_validates_and_renders(history: dict[str, dict[str, Any]]) -> None:
    outcomes = {name: run["outcome"] for name, run in history.items()}
    assert outcomes == {
        "partial": "partial",
        "apply": "succeeded",
        "noop": "no-changes",
        "drift-check": "drifted",
        "plan": "planned",
        "repair": "succeeded",
        "commit": "succeeded",
        "rejected": "rejected",
        "interrupted": "interrupted",
    }
    for name, run in history.items():
        assert problems(run) == [], name
        for fmt in ("markdown", "html"):
            assert report.render(run, fmt).strip(), (name, fmt)


def test_a_run_records_who_acted_and_the_drift_it_found(
    history: dict[str, dict[str, Any]],
) -> None:
    for name in ("apply", "noop", "plan", "repair"):
        actor = history[name]["actor"]
        assert actor["account"] == "123456789012" and actor["arn"].startswith("arn:aws:"), name
        assert actor["user"] and actor["host"], "a command-line run names who ran it"
    assert "actor" not in history["rejected"], "a refused commit never reached AWS"
    assert "drift" not in history["rejected"]
    assert history["noop"]["drift"] == {"count": 0, "resources": []}
    for name, action in (("drift-check", "update"), ("repair", "update")):
        (found,) = history[name]["drift"]["resources"]
        assert found["logicalId"].endswith("storage/bucket") and found["action"] == action
        assert found["fields"] and history[name]["drift"]["count"] == 1
    assert history["repair"]["counts"]["update"] == 1
    assert history["commit"]["counts"]["update"] == 1
    assert history["commit"]["drift"] == {"count": 0, "resources": []}, "a commit is not drift"


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_the_human_reports_show_who_acted_and_the_drift(
    history: dict[str, dict[str, Any]], fmt: str
) -> None:
    run = history["repair"]
    text = report.render(run, fmt)
    assert run["actor"]["arn"] in text and run["actor"]["account"] in text
    assert run["actor"]["user"] in text
    if fmt == "html":  # a section of its own, counted at the top
        drift = text[text.index('<h2 id="drift">') : text.index('<h2 id="resources">')]
        assert '<span class="n" data-count="drift">1</span>' in text
        assert "storage/bucket" in drift, "the drifted resource is named"
        return
    (drift,) = [line for line in text.splitlines() if re.search(r"Drift\W", line)]
    assert "1 resource(s)" in drift and "storage/bucket" in drift, "the drifted resource is named"


def test_a_report_breaking_the_schema_is_caught(history: dict[str, dict[str, Any]]) -> None:
    run = {**history["noop"], "outcome": "fine", "surprise": 1}
    assert len(problems(run)) == 2
