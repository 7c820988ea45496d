"""The auditor's HTML pages, built from real runs on moto and loaded in a real headless
Chromium: a partial run, a first apply, a no-op, a drift repair, a commit rejected for
invalid specs, and the period page over all of them.

Each page must load with no console message (its CSP turns any fetch into one), show the
right counts, put what happened (failures, drift, changes) before what did not, and fold
the unchanged resources into a count. Screenshots are kept in tests/artifacts/ (ignored by
git); the path is printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator, FormatChecker

from controller.cli.main import main
from controller.cli.verbs import load_desired
from controller.engine.plan import PlanOptions
from controller.errors import SpecError
from tests import chromium
from tests.chromium import Node, order, parse
from tests.integration.staging_runs import ROOT, STAGING, moto_account, staged_runs

CHANGING = {"create", "update", "replace", "delete"}
needs_chromium = pytest.mark.skipif(
    chromium.CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)",
)


@dataclass
class History:
    state_url: str
    reports: Path
    runs: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    with moto_account():
        yield _history(tmp_path_factory.mktemp("html"))


def _history(tmp: Path) -> History:
    specs, runner, desired, ids = staged_runs(tmp)
    broken = tmp / "broken"
    broken.mkdir()
    text = (specs / f"{STAGING}.yaml").read_text()
    (broken / f"{STAGING}.yaml").write_text(
        text.replace("    cpu: 256", "    cpu: lots").replace("desiredCount: 1", "desiredCount: -3")
    )
    ids["repair"] = runner.apply(desired, PlanOptions()).run_id
    with pytest.raises(SpecError) as refused:
        load_desired(broken)
    errors = [str(issue) for issue in refused.value.issues]
    commit = {"sha": "c" * 40, "author": "Eve <eve@example.com>", "message": "cpu: lots"}
    ids["rejected"] = runner.record_rejected("schedule", commit, "repo#main", errors)
    runs = {name: runner.store.runs.get(run_id) for name, run_id in ids.items()}
    return History(runner.settings.state_url, tmp / "reports", runs)


def _expected(run: dict[str, Any]) -> dict[str, int]:
    changes = run.get("changes") or []
    return {
        "changes": sum(1 for c in changes if c["action"] in CHANGING and c["outcome"] == "applied"),
        "failed": sum(1 for c in changes if c["outcome"] == "failed"),
        "skipped": sum(1 for c in changes if c["outcome"] == "skipped"),
        "drift": (run.get("drift") or {}).get("count", 0),
        "unchanged": sum(1 for c in changes if c["action"] == "noop"),
        "errors": len(run["errors"]),
    }


def _counts(root: Node) -> dict[str, int]:
    return {n.attrs["data-count"]: int(n.text()) for n in root.has("data-count")}


def _page(history: History, name: str) -> Path:
    return history.reports / f"run-{history.runs[name]['id']:06d}.html"


# -- the pages as written (no browser) ----------------------------------------------------


@pytest.mark.parametrize("name", ["partial", "apply", "noop", "repair", "rejected"])
def test_a_run_page_shows_what_happened_first_and_folds_the_unchanged(
    history: History, name: str
) -> None:
    run = history.runs[name]
    root = parse(_page(history, name).read_text())
    counts, expected = _counts(root), _expected(run)
    assert {k: counts[k] for k in expected} == expected
    resources = root.one("h2", id="resources")
    for stack in root.all("section", cls="stack"):
        blocks = stack.all("div", cls="resource")
        assert all(b.attrs["data-action"] != "noop" for b in blocks)
        folded = stack.all("details", cls="unchanged")
        noops = [
            c
            for c in run["changes"]
            if c["stack"] == stack.attrs["data-stack"] and c["action"] == "noop"
        ]
        if noops:
            (details,) = folded
            assert int(details.has("data-unchanged")[0].text()) == len(noops)
            assert all(order(root, b) < order(root, details) for b in blocks), "changes first"
        else:
            assert not folded
    for section in ("failures", "drift", "errors"):
        found = root.all("h2", id=section)
        if found:
            assert order(root, found[0]) < order(root, resources), f"{section} before resources"
    assert "\u2705" not in root.text() and "\u26a0" not in root.text(), "no emoji"
    assert root.all("svg", cls="mark"), "the outcome is marked with an inline SVG"


def test_the_pages_link_their_neighbours_in_the_chain(history: History) -> None:
    ids = [history.runs[n]["id"] for n in ("partial", "apply", "noop", "repair", "rejected")]
    for i, run_id in enumerate(ids):
        root = parse((history.reports / f"run-{run_id:06d}.html").read_text())
        prev = [a.attrs["href"] for a in root.all("a", rel="prev")]
        after = [a.attrs["href"] for a in root.all("a", rel="next")]
        assert prev == ([f"run-{ids[i - 1]:06d}.html"] if i else [])
        assert after == ([f"run-{ids[i + 1]:06d}.html"] if i + 1 < len(ids) else [])


def test_a_refused_commit_lists_its_errors_by_file_line_and_field(history: History) -> None:
    root = parse(_page(history, "rejected").read_text())
    rows = [[td.text() for td in tr.all("td")] for tr in root.all("tr", cls="error-row")]
    assert [(Path(r[0]).name, r[1], r[2]) for r in rows] == [
        (f"{STAGING}.yaml", "22:5", "spec.service.cpu"),
        (f"{STAGING}.yaml", "24:5", "spec.service.desiredCount"),
    ]
    assert rows[1][3] == "must be at least 0"


def test_the_repaired_drift_is_named_and_flagged(history: History) -> None:
    root = parse(_page(history, "repair").read_text())
    (row,) = root.all("tr", cls="drift-row")
    assert "storage/bucket" in row.text()
    (block,) = root.all("div", cls="resource")
    assert "storage/bucket" in block.text() and block.one("span", cls="drift")
    assert "lifecycle" in block.one("pre", cls="diff").text()
    assert "changed outside plumb" in block.text(), "a repair says why there was work"


# -- the period page ----------------------------------------------------------------------


def _plumb(history: History, *args: str) -> Any:
    return CliRunner().invoke(main, ["--state", history.state_url, "report", *args])


def _period_args() -> list[str]:
    today = datetime.now(UTC).date()
    return ["--since", str(today - timedelta(days=1)), "--until", str(today)]


def test_the_period_report_counts_runs_changes_drift_and_refusals(history: History) -> None:
    result = _plumb(history, *_period_args(), "--format", "json")
    assert result.exit_code == 0, result.output
    model = json.loads(result.output)
    schema = json.loads((ROOT / "schemas" / "period.json").read_text())
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    assert [e.message for e in validator.iter_errors(model)] == []
    runs = history.runs.values()
    assert model["counts"] == {
        "runs": 5,
        "changes": sum(_expected(r)["changes"] for r in runs),
        "failed": sum(_expected(r)["failed"] for r in runs),
        "drift": 1,
        "rejected": 1,
    }
    assert [r["id"] for r in model["runs"]] == [r["id"] for r in runs]
    assert model["chain"]["ok"] and model["chain"]["runsChecked"] == 5
    assert model["rejected"][0]["errors"][0]["field"] == "spec.service.cpu"
    assert all(c["action"] != "noop" for c in model["changes"])
    markdown = _plumb(history, *_period_args())
    assert markdown.exit_code == 0 and "chain intact" in markdown.output
    empty = _plumb(history, "--until", "2000-01-01", "--format", "json")
    assert json.loads(empty.output)["counts"]["runs"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "yesterday"],
        ["--since", "2026-13-01"],
        ["--since", "2026-03-02", "--until", "2026-03-01"],
        ["7", "--since", "2026-03-01"],
    ],
)
def test_a_bad_period_is_one_line_and_exit_2(history: History, args: list[str]) -> None:
    result = _plumb(history, *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert [line for line in result.output.splitlines() if line.startswith("Error")]


# -- in a real browser ----------------------------------------------------------------------


@needs_chromium
@pytest.mark.parametrize("name", ["partial", "noop", "repair", "rejected"])
def test_a_run_page_loads_in_chromium_with_no_console_error(history: History, name: str) -> None:
    shot = chromium.ARTIFACTS / f"report-{name}.png"
    page = chromium.load(_page(history, name), shot)
    print(f"screenshot: {shot}")
    assert page.console == []
    root = parse(page.dom)
    assert {k: _counts(root)[k] for k in _expected(history.runs[name])} == _expected(
        history.runs[name]
    )


@needs_chromium
def test_the_period_page_loads_in_chromium_with_the_right_counts(history: History) -> None:
    out = history.reports / "period.html"
    result = _plumb(history, *_period_args(), "--format", "html", "-o", str(out))
    assert result.exit_code == 0, result.output
    shot = chromium.ARTIFACTS / "report-period.png"
    page = chromium.load(out, shot)
    print(f"screenshot: {shot}")
    assert page.console == []
    root = parse(page.dom)
    counts = _counts(root)
    assert counts["runs"] == 5 == len(root.all("tr", cls="run-row"))
    assert counts["rejected"] == 1 and counts["drift"] == 1
    assert counts["changes"] == sum(_expected(r)["changes"] for r in history.runs.values())
    assert root.one("span", data_chain="intact")


@needs_chromium
def test_the_console_check_catches_a_fetch(tmp_path: Path) -> None:
    """The check itself: a page with the reports' CSP that asks for an image is caught."""
    page = tmp_path / "fetch.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"></head>"
        '<body><img src="http://127.0.0.1:9/x.png"></body></html>'
    )
    assert chromium.load(page).console, "a blocked fetch shows on the console"
