"""The scheduled loop through the real CLI: one cycle, self-heal, a rejected commit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from controller.cli.demo import drift
from tests.e2e.conftest import Cli, git_repo

PROD = "acme-prod"


def commit_change(repo: Path, old: str, new: str, message: str) -> None:
    """Commit prod's spec with the snippet `old` made `new`, as Ada would."""
    spec = repo / "specs" / f"{PROD}.yaml"
    text = spec.read_text()
    assert old in text, f"no {old!r} in {spec.name}"
    spec.write_text(text.replace(old, new))
    git = ["git", "-C", str(repo), "-c", "user.name=Ada", "-c", "user.email=ada@acme.example"]
    subprocess.run([*git, "commit", "-qam", message], check=True)


def test_a_scheduled_cycle_converges_and_records_its_trigger(cli: Cli, aws, workdir: Path) -> None:
    repo = git_repo(workdir, workdir / "specs")
    cli("run", "--once", "--repo", str(repo), check=0)
    run = cli.latest_run()
    assert run["trigger"] == "schedule" and run["outcome"] == "succeeded"
    assert aws.s3.head_bucket(Bucket=f"{PROD}-storage")


def test_self_heal_off_reports_drift_on_the_loop_and_leaves_it(
    cli: Cli, aws, workdir: Path
) -> None:
    repo = git_repo(workdir, workdir / "specs")
    commit_change(repo, "selfHeal: true", "selfHeal: false", "prod: report drift, do not repair it")
    cli("run", "--once", "--repo", str(repo), check=0)
    drift.shorten_lifecycle(PROD, days=7)
    cli("run", "--once", "--repo", str(repo), check=1)
    # The loop runs each stack on its own (replicas share them): prod's is the first of two.
    (prod, staging) = (cli.latest_run()["id"] - 1, cli.latest_run())
    run = json.loads(cli("report", str(prod), "--format", "json", check=0).stdout)
    assert run["stacks"] == [PROD] and staging["outcome"] == "no-changes"
    assert run["outcome"] == "partial"
    (change,) = [c for c in run["changes"] if c["logicalId"] == f"{PROD}/storage/bucket"]
    assert change["outcome"] == "refused" and "selfHeal" in change["reason"]
    rules = aws.s3.get_bucket_lifecycle_configuration(Bucket=f"{PROD}-storage")["Rules"]
    assert rules[0]["Expiration"]["Days"] == 7, "reported, not repaired"


def test_a_bad_commit_is_rejected_with_a_report_and_changes_nothing(
    cli: Cli, aws, workdir: Path
) -> None:
    repo = git_repo(workdir, workdir / "specs")
    commit_change(repo, "cidr: 10.20.0.0/16", "cidr: 10.20.0.1/16", "prod: a typo in the VPC CIDR")
    cli("sync", "--repo", str(repo), check=1)
    run = cli.latest_run()
    assert (
        run["outcome"] == "rejected" and run["commit"]["message"] == "prod: a typo in the VPC CIDR"
    )
    assert any("spec.network.cidr" in e for e in run["errors"])
    # named as the repository has it, not by plumb's checkout folder
    assert run["errors"][0].startswith("specs/acme-prod.yaml:"), run["errors"]
    assert "checkouts" not in " ".join(run["errors"])
    assert aws.s3.list_buckets()["Buckets"] == []
