"""A drift waiver through the real CLI: drift on the waived field is left alone and the run
report names the waiver that covered it; once the waiver expires, the next run repairs it."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

from controller.cli.demo import drift
from tests.e2e.conftest import Cli, git_repo

PROD = "acme-prod"
GIT = ["-c", "user.name=Ada", "-c", "user.email=ada@acme.example"]
WAIVER = (
    "  ignoreDrift:\n"
    "    - resource: storage/bucket\n"
    "      field: lifecycle\n"
    "      reason: data team tries a shorter expiry\n"
    "      owner: data@acme.example\n"
    "      expires: {expires}\n"
)


def _spec(repo: Path) -> Path:
    return repo / "specs" / f"{PROD}.yaml"


def _expiry(aws: Any) -> int:
    rules = aws.s3.get_bucket_lifecycle_configuration(Bucket=f"{PROD}-storage")["Rules"]
    return int(rules[0]["Expiration"]["Days"])


def _waiver_of(run: dict[str, Any]) -> dict[str, Any]:
    [waiver] = [w for w in run["waivers"] if w["resource"] == "storage/bucket"]
    return waiver


def test_a_waiver_holds_drift_back_until_it_expires(cli: Cli, aws: Any, workdir: Path) -> None:
    # The prod stack alone: half the resources, the same behaviour.
    (workdir / "specs" / "acme-staging.yaml").unlink()
    soon = dt.date.today() + dt.timedelta(days=10)
    spec = workdir / "specs" / f"{PROD}.yaml"
    spec.write_text(spec.read_text() + WAIVER.format(expires=soon.isoformat()))
    repo = git_repo(workdir, workdir / "specs")
    cli("run", "--once", "--repo", str(repo), check=0)

    drift.shorten_lifecycle(PROD, days=7)
    out = cli("run", "--once", "--repo", str(repo), check=0).stdout
    assert _expiry(aws) == 7, "waived drift is reported, not repaired"
    assert (
        f"warning: waiver on {PROD} storage/bucket lifecycle (owner: data@acme.example) "
        f"expires {soon.isoformat()}, in 10 days"
    ) in out
    run = cli.latest_run()
    waiver = _waiver_of(run)
    assert (waiver["status"], waiver["daysLeft"], waiver["expires"]) == (
        "expires-soon",
        10,
        soon.isoformat(),
    )
    assert (waiver["owner"], waiver["reason"]) == (
        "data@acme.example",
        "data team tries a shorter expiry",
    )
    assert [(d["path"], d["before"], d["after"]) for d in waiver["drift"]] == [
        ("lifecycle.expireAfterDays", 7, 90)
    ]
    md = cli("report", str(run["id"]), "--format", "markdown", check=0).stdout
    assert "### Waivers" in md and "covered drift in this run:" in md
    assert "lifecycle.expireAfterDays: 7 → 90" in md

    spec = _spec(repo)
    spec.write_text(spec.read_text().replace(soon.isoformat(), "2020-01-31"))
    subprocess.run(
        ["git", "-C", str(repo), *GIT, "commit", "-qam", "prod: the lifecycle waiver ended"],
        check=True,
    )
    out = cli("run", "--once", "--repo", str(repo), check=0).stdout
    assert _expiry(aws) == 90, "the waiver expired: drift is repaired again"
    assert (
        f"warning: waiver on {PROD} storage/bucket lifecycle (owner: data@acme.example) "
        "expired on 2020-01-31: it no longer holds drift back"
    ) in out
    run = cli.latest_run()
    assert run["outcome"] == "succeeded"
    assert _waiver_of(run)["status"] == "expired"
    md = cli("report", str(run["id"]), "--format", "markdown", check=0).stdout
    assert "expired on 2020-01-31, drift on this field is repaired again" in md
    cli("audit", "verify", check=0)
