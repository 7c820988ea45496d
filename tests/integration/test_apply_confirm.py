"""`plumb apply` at a terminal: it shows the plan, asks, and applies exactly what was shown."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from controller.cli import main as cli
from controller.cli import verbs
from controller.cli.demo import drift
from tests.integration.cli_workdir import cli_workdir

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "acme-staging-storage"


@pytest.fixture
def workdir(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    (tmp_path / "specs" / "acme-prod.yaml").unlink()
    cli_workdir(tmp_path, monkeypatch, {})
    monkeypatch.setattr(verbs, "_interactive", lambda: True)
    return tmp_path


def lifecycle_days() -> int:
    s3 = boto3.client("s3", region_name="us-east-1")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    return int(rules[0]["Expiration"]["Days"])


def test_a_confirmed_plan_is_applied(workdir: Path) -> None:
    result = CliRunner().invoke(cli.main, ["apply"], input="y\n")
    assert result.exit_code == 0, result.output
    assert "Apply these changes?" in result.output
    assert lifecycle_days() == 30


def test_apply_refuses_when_aws_changed_while_the_plan_was_read(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CliRunner().invoke(cli.main, ["apply", "--yes"]).exit_code == 0
    drift.shorten_lifecycle("acme-staging", days=20)

    def someone_else_meanwhile(*_: object, **__: object) -> bool:
        drift.shorten_lifecycle("acme-staging", days=5)
        return True

    monkeypatch.setattr(verbs.click, "confirm", someone_else_meanwhile)
    result = CliRunner().invoke(cli.main, ["apply"])
    assert result.exit_code == 1 and "stale" in result.output, result.output
    assert lifecycle_days() == 5, "nothing applied that was not shown"


def test_without_a_terminal_apply_asks_for_yes_before_reading_aws(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verbs, "_interactive", lambda: False)
    result = CliRunner().invoke(cli.main, ["apply"])
    assert result.exit_code == 2 and "--yes" in result.output
    assert (
        not (workdir / "state.db").exists()
        or "cli-apply-preview" not in CliRunner().invoke(cli.main, ["history"]).output
    )


def test_a_declined_apply_is_recorded_as_declined_and_changes_nothing(workdir: Path) -> None:
    from controller.state.store import Store

    result = CliRunner().invoke(cli.main, ["apply"], input="n\n")
    assert result.exit_code == 1 and "Declined (run 1); nothing changed." in result.output
    store = Store(f"sqlite:///{workdir}/state.db")
    [run] = store.runs.recent()
    assert (run["command"], run["outcome"]) == ("apply", "declined")
    assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []


def test_a_drift_check_is_recorded_as_one(workdir: Path) -> None:
    from controller.state.store import Store

    assert CliRunner().invoke(cli.main, ["apply", "--yes"]).exit_code == 0
    assert CliRunner().invoke(cli.main, ["drift"]).exit_code == 0
    drift.shorten_lifecycle("acme-staging", days=5)
    assert CliRunner().invoke(cli.main, ["drift"]).exit_code == 2
    runs = Store(f"sqlite:///{workdir}/state.db").runs.recent()
    assert [(r["command"], r["outcome"]) for r in runs[:2]] == [
        ("drift", "drifted"),
        ("drift", "in-sync"),
    ]
    history = CliRunner().invoke(cli.main, ["history", "--stack", "acme-nowhere"])
    assert "No run touched acme-nowhere" in history.output


def test_a_warning_the_last_apply_gave_is_counted_not_repeated(workdir: Path) -> None:
    first = CliRunner().invoke(cli.main, ["apply", "--yes"])
    assert "secret acme/staging/azure-openai-key has no value yet" in first.output
    second = CliRunner().invoke(cli.main, ["apply", "--yes"])
    assert second.exit_code == 0, second.output
    assert "has no value yet" not in second.output
    assert "unchanged since run 1 (listed in this run's report)" in second.output


def test_ctrl_c_at_the_question_seals_the_run_interrupted_and_the_chain_holds(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from controller.audit.verify import verify
    from controller.state.store import Store

    def ctrl_c(*_: object, **__: object) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(verbs.click, "confirm", ctrl_c)
    result = CliRunner().invoke(cli.main, ["apply"])
    assert result.exit_code != 0
    store = Store(f"sqlite:///{workdir}/state.db")
    try:
        (run,) = store.runs.recent()
        assert run["outcome"] == "interrupted" and "Ctrl-C" in run["errors"][0]
        assert verify(store).ok, "no run is left outside the chain"
    finally:
        store.close()


def test_a_question_answered_after_its_run_was_sealed_elsewhere_says_so_in_one_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prompt left open for a day: another plumb sealed its run as interrupted
    (controller/state/unsealed.py). The answer then ends in one line and exit 1, and nothing is
    applied."""
    from controller.state.store import Store

    def sealed_meanwhile(*_: object, **__: object) -> bool:
        store = Store(f"sqlite:///{workdir}/state.db")
        (open_run,) = store.chain.unsealed()
        store.chain.seal(int(open_run["id"]), "interrupted", errors=["open too long"])
        store.close()
        return True

    monkeypatch.setattr(verbs.click, "confirm", sealed_meanwhile)
    result = CliRunner().invoke(cli.main, ["apply"])
    assert result.exit_code == 1, result.output
    assert "was sealed as interrupted by another plumb meanwhile" in result.output
    assert isinstance(result.exception, SystemExit), "a clean exit, not a traceback"
    assert not boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"]


def test_an_interactive_apply_is_one_run_that_reads_again_only_what_it_writes(
    workdir: Path,
) -> None:
    """The question is asked inside the apply's own run, under its leases: one run in the
    chain. Before writing, only the kinds about to be written are read again."""
    from controller.audit.verify import verify
    from controller.state.store import Store

    assert CliRunner().invoke(cli.main, ["apply", "--yes"]).exit_code == 0
    drift.shorten_lifecycle("acme-staging", days=20)
    result = CliRunner().invoke(cli.main, ["apply"], input="y\n")
    assert result.exit_code == 0, result.output
    assert lifecycle_days() == 30
    store = Store(f"sqlite:///{workdir}/state.db")
    try:
        runs = store.runs.recent()
        assert [(r["trigger"], r["outcome"]) for r in runs] == [
            ("cli-apply", "succeeded"),
            ("cli-apply", "succeeded"),
        ]
        calls = runs[0]["apiCalls"]["byOperation"]
        # read, read again after the question, and read back after the write
        assert calls["s3:GetBucketLifecycleConfiguration"] == 3, "the bucket, read again"
        assert calls["ec2:DescribeVpcs"] == 1, "what is not written is read once"
        assert verify(store).ok
    finally:
        store.close()
