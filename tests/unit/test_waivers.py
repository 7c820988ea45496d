"""Drift waivers in a run: recorded with it, shown in every report, warned of when they are
about to expire or have expired."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console
from sqlalchemy import text, update

from controller.audit.verify import chain_hash, verify
from controller.cli.main import main
from controller.engine import waivers
from controller.engine.observe import Observation
from controller.engine.plan import Plan, PlanOptions
from controller.model import Action, ActionType, FieldChange
from controller.reports import render as terminal
from controller.reports.run_report import FORMATS, render
from controller.specs.policy import StackPolicy, Waiver
from controller.state.models import Run
from controller.state.store import Store

TODAY = dt.date(2026, 12, 2)
SPECS = Path(__file__).resolve().parents[2] / "specs"
SECRET = "hunter2-do-not-leak"
PROD = "acme-prod"


def _waiver(resource: str, field: str, days: int, owner: str = "ops@acme") -> Waiver:
    return Waiver(resource, field, f"why {field}", owner, TODAY + dt.timedelta(days=days))


POLICY = StackPolicy(
    waivers=(
        _waiver("app/service", "desiredCount", 8, owner="load-test <script>x</script>"),
        _waiver("storage/bucket", "tags", 120),
        _waiver("storage/bucket", "lifecycle", -1),
        _waiver("cache/redis", "authToken", 3),
    )
)
ACTIONS = [
    Action(
        ActionType.NOOP,
        "EcsService",
        f"{PROD}/app/service",
        waived=(FieldChange("desiredCount", 5, 2),),
    ),
    Action(
        ActionType.UPDATE,
        "Bucket",
        f"{PROD}/storage/bucket",
        changes=(FieldChange("lifecycle.expireAfterDays", 7, 90),),
    ),
    Action(
        ActionType.NOOP,
        "CacheReplicationGroup",
        f"{PROD}/cache/redis",
        waived=(FieldChange("authToken", SECRET, SECRET + "2"),),
    ),
]


def _plan(policy: StackPolicy = POLICY, actions: list[Action] = ACTIONS) -> Plan:
    return Plan(list(actions), {}, {PROD: policy}, Observation(), PlanOptions(today=TODAY))


# -- how soon ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "status", "active", "note"),
    [
        pytest.param(15, "active", True, "expires 2026-12-17, 15 days left", id="15 days"),
        pytest.param(14, "expires-soon", True, "expires 2026-12-16, 14 days left", id="14 days"),
        pytest.param(13, "expires-soon", True, "expires 2026-12-15, 13 days left", id="13 days"),
        pytest.param(
            0, "expires-soon", True, "expires 2026-12-02, today is its last day", id="today"
        ),
        pytest.param(
            -1,
            "expired",
            False,
            "expired on 2026-12-01, drift on this field is repaired again",
            id="expired yesterday",
        ),
    ],
)
def test_a_waiver_is_flagged_within_14_days_and_holds_through_its_last_day(
    days: int, status: str, active: bool, note: str
) -> None:
    waiver = _waiver("app/service", "desiredCount", days)
    assert waiver.active(TODAY) is active
    assert waivers.status(waiver, TODAY) == status
    [record] = waivers.records({PROD: StackPolicy(waivers=(waiver,))}, TODAY)
    assert (record["daysLeft"], waivers.note(record)) == (days, note)


def test_the_warning_says_how_many_days_are_left() -> None:
    lines = {
        days: waivers.warning_lines(
            waivers.records({PROD: StackPolicy(waivers=(_waiver("a/b", "f", days),))}, TODAY)
        )
        for days in (15, 14, 1, 0, -1)
    }
    assert lines[15] == []
    assert lines[14] == [f"waiver on {PROD} a/b f (owner: ops@acme) expires 2026-12-16, in 14 days"]
    assert lines[1] == [f"waiver on {PROD} a/b f (owner: ops@acme) expires 2026-12-03, in 1 day"]
    assert lines[0] == [f"waiver on {PROD} a/b f (owner: ops@acme) expires 2026-12-02, today"]
    assert lines[-1] == [
        f"waiver on {PROD} a/b f (owner: ops@acme) expired on 2026-12-01: "
        "it no longer holds drift back"
    ]


# -- what the run records ----------------------------------------------------------------


def test_the_run_records_each_waiver_with_the_drift_it_covered() -> None:
    found = {(r["resource"], r["field"]): r for r in waivers.in_run(_plan())}
    service = found[("app/service", "desiredCount")]
    assert service["status"] == "expires-soon" and service["daysLeft"] == 8
    assert service["owner"].startswith("load-test") and service["reason"] == "why desiredCount"
    assert service["expires"] == "2026-12-10"
    assert [(d["path"], d["before"], d["after"]) for d in service["drift"]] == [
        ("desiredCount", 5, 2)
    ]
    assert found[("storage/bucket", "tags")]["drift"] == []
    expired = found[("storage/bucket", "lifecycle")]
    assert expired["status"] == "expired" and expired["daysLeft"] == -1
    # drift on an expired waiver's field is no longer held back: it is planned for repair
    assert [d["path"] for d in expired["drift"]] == ["lifecycle.expireAfterDays"]


def test_the_terminal_names_soon_and_expired_waivers_sorted_by_expiry() -> None:
    console = Console(record=True, width=200, color_system=None)
    terminal.print_waivers(_plan(), console)
    lines = console.export_text().splitlines()
    assert lines == [
        f"warning: waiver on {PROD} storage/bucket lifecycle (owner: ops@acme) expired on "
        "2026-12-01: it no longer holds drift back",
        f"warning: waiver on {PROD} cache/redis authToken (owner: ops@acme) expires 2026-12-05, "
        "in 3 days",
        f"warning: waiver on {PROD} app/service desiredCount (owner: load-test <script>x</script>)"
        " expires 2026-12-10, in 8 days",
    ]


# -- reports -----------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path}/state.db")


def _run(store: Store, plan: Plan | None = None) -> dict[str, Any]:
    run_id = store.runs.begin("schedule", "apply", [PROD], {"sha": "abc"}, "git")
    store.chain.seal(run_id, "no-changes", waivers=waivers.in_run(plan or _plan()))
    return store.runs.get(run_id)


def test_json_report_holds_the_waivers_scrubbed_and_its_hash_recomputes(store: Store) -> None:
    run = _run(store)
    report = json.loads(render(run, "json"))
    assert [(w["resource"], w["status"]) for w in report["waivers"]] == [
        ("app/service", "expires-soon"),
        ("cache/redis", "expires-soon"),
        ("storage/bucket", "expired"),
        ("storage/bucket", "active"),
    ]
    assert SECRET not in json.dumps(report), "waived drift is scrubbed as changes are"
    assert chain_hash(report["prevHash"], report) == report["hash"]
    assert verify(store).ok


def test_altered_waivers_break_the_chain(store: Store) -> None:
    run = _run(store)
    with store.engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == run["id"]).values(waivers=[]))
    assert not verify(store).ok


def test_a_run_without_waivers_has_no_waivers_key(store: Store) -> None:
    run = _run(store, _plan(StackPolicy()))
    assert "waivers" not in run
    for fmt in FORMATS:
        assert "Waivers" not in render(run, fmt)


def test_markdown_lists_expiring_waivers_first_then_in_force_then_expired(store: Store) -> None:
    md = render(_run(store), "markdown")
    section = md[md.index("### Waivers") :]
    assert "**2 expiring within 14 days**" in section
    order = [section.index(f"`{r}`") for r in ("cache/redis", "app/service", "storage/bucket")]
    assert order == sorted(order), "soonest first"
    assert section.index("field `tags`") < section.index("field `lifecycle`")
    assert "⏳ **expires soon** `acme-prod` `app/service` field `desiredCount`" in section
    assert "`why desiredCount`; expires 2026-12-10, 8 days left" in section
    assert "reason `why desiredCount`" in section
    assert "covered drift in this run:" in section and "desiredCount: 5 → 2" in section
    assert "no drift on this field in this run." in section
    assert "⌛ **expired**" in section
    assert "expired on 2026-12-01, drift on this field is repaired again" in section
    assert "drift found, no longer waived in this run:" in section
    assert "lifecycle.expireAfterDays: 7 → 90" in section
    assert "authToken: (sensitive) → (sensitive)" in section
    assert SECRET not in md
    assert "<script>" not in section.replace("`load-test <script>x</script>`", "")


def test_html_has_a_waivers_table_escaped_and_scrubbed(store: Store) -> None:
    html = render(_run(store), "html")
    section = html[html.index('<h2 id="waivers">') : html.index('<h2 id="api">')]
    assert "<strong>2 expiring within 14 days</strong>" in section
    rows = section.split('<tr class="waiver ')[1:]
    assert [r.split('"', 1)[0] for r in rows] == [
        "expires-soon",
        "expires-soon",
        "active",
        "expired",
    ]
    assert "load-test &lt;script&gt;x&lt;/script&gt;" in rows[1]
    assert "<td>2026-12-10</td>" in rows[1] and "<td>8</td>" in rows[1]
    assert "desiredCount: 5 → 2" in rows[1]
    assert "expired on 2026-12-01, drift on this field is repaired again" in rows[3]
    assert SECRET not in html


def test_a_database_from_before_waivers_gains_the_column_and_keeps_its_chain(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    old = Store(url)
    first = old.runs.begin("sync", "apply", [PROD], {"sha": "abc"})
    old.chain.seal(first, "no-changes")
    with old.engine.begin() as conn:  # as a plumb of before the column (and Alembic) made it
        conn.execute(text("ALTER TABLE runs DROP COLUMN waivers"))
        conn.execute(text("DROP TABLE alembic_version"))
    old.close()

    store = Store(url)
    assert verify(store).ok, "runs sealed without waivers keep their hashes"
    later = _run(store)
    assert later["waivers"] and "waivers" not in store.runs.get(first)
    assert verify(store).ok


# -- plumb validate ------------------------------------------------------------------------


def test_validate_warns_of_an_expired_waiver_and_still_passes(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    prod = specs / f"{PROD}.yaml"
    prod.write_text(
        prod.read_text()
        + "  ignoreDrift:\n"
        + "    - {resource: storage/bucket, field: lifecycle, reason: migration,"
        + " owner: data@acme, expires: 2020-01-31}\n"
        + "    - {resource: app/service, field: desiredCount, reason: load test,"
        + " owner: ops@acme, expires: 2999-01-31}\n"
    )
    done = CliRunner().invoke(main, ["validate", str(specs)], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "valid:" in done.output
    assert (
        f"warning: waiver on {PROD} storage/bucket lifecycle (owner: data@acme) expired on "
        "2020-01-31: it no longer holds drift back"
    ) in done.output
    assert "desiredCount" not in done.output
