"""The archive: each sealed run's report and chain head written to an S3 bucket under
Object Lock in compliance mode (moto enforces the lock: a locked version cannot be
deleted), and `plumb audit verify --archive-bucket` reading the heads back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result
from sqlalchemy import delete

from controller.cli.main import main
from controller.config import Settings
from controller.engine.runner import Runner
from controller.reports.anchors import Anchors
from controller.state.models import Change, Run
from tests.conftest import REGION

LOCKED, UNLOCKED = "plumb-audit-locked", "plumb-audit-plain"


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=LOCKED, ObjectLockEnabledForBucket=True)
    client.create_bucket(Bucket=UNLOCKED)
    return client


def _runner(tmp_path: Path, bucket: str) -> Runner:
    settings = Settings(state_url=f"sqlite:///{tmp_path}/state.db", region=REGION)
    settings.archive_bucket, settings.reports_dir = bucket, tmp_path / "reports"
    settings.max_attempts = 1
    return Runner(settings, observers=[Anchors(settings)])


def _seal(runner: Runner, n: int) -> list[list[str]]:
    failures, [anchors] = [], runner.observers
    for _ in range(n):
        run_id = runner.store.runs.begin("sync", "apply", ["acme-prod"], {"sha": "c0"}, "git")
        runner.store.chain.seal(run_id, "succeeded")
        failures.append(anchors.keep(runner.store, run_id))
    return failures


def _verify(tmp_path: Path, bucket: str) -> Result:
    argv = ["--state", f"sqlite:///{tmp_path}/state.db", "--region", REGION]
    return CliRunner().invoke(main, [*argv, "audit", "verify", "--archive-bucket", bucket])


def test_reports_and_heads_are_locked_in_compliance_mode(s3: Any, tmp_path: Path) -> None:
    runner = _runner(tmp_path, LOCKED)
    assert _seal(runner, 2) == [[], []]
    head = s3.head_object(Bucket=LOCKED, Key="chain/0000000002.json")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert until > datetime.now(UTC) + timedelta(days=2550)
    line = json.loads(s3.get_object(Bucket=LOCKED, Key="chain/0000000002.json")["Body"].read())
    assert line["run"] == 2 and line["hash"] == runner.store.runs.get(2)["hash"]
    report = json.loads(s3.get_object(Bucket=LOCKED, Key="runs/run-000002.json")["Body"].read())
    assert report["hash"] == line["hash"]
    with pytest.raises(ClientError):  # not even the owner removes a locked version
        s3.delete_object(Bucket=LOCKED, Key="chain/0000000002.json", VersionId=head["VersionId"])
    result = _verify(tmp_path, LOCKED)
    assert result.exit_code == 0 and "2 runs checked against the anchor" in result.output


def test_a_bucket_without_object_lock_is_named_and_the_run_still_sealed(
    s3: Any, tmp_path: Path
) -> None:
    runner = _runner(tmp_path, UNLOCKED)
    [failures] = _seal(runner, 1)
    assert len(failures) == 1 and f"bucket {UNLOCKED} has no Object Lock" in failures[0]
    assert runner.store.runs.get(1)["hash"]
    assert s3.list_objects_v2(Bucket=UNLOCKED).get("KeyCount") == 0


def test_runs_cut_off_are_found_against_the_archive(s3: Any, tmp_path: Path) -> None:
    runner = _runner(tmp_path, LOCKED)
    _seal(runner, 3)
    with runner.store.engine.begin() as conn:
        conn.execute(delete(Change).where(Change.run_id == 3))
        conn.execute(delete(Run).where(Run.id == 3))
    result = _verify(tmp_path, LOCKED)
    assert result.exit_code == 1
    assert "run 3 (chain position 3) and 0 later anchored run(s) were cut off" in result.output


def test_an_archived_head_written_again_is_reported(s3: Any, tmp_path: Path) -> None:
    runner = _runner(tmp_path, LOCKED)
    _seal(runner, 2)
    s3.put_object(Bucket=LOCKED, Key="chain/0000000002.json", Body=b'{"forged": true}')
    result = _verify(tmp_path, LOCKED)
    assert result.exit_code == 1
    assert "chain/0000000002.json was written 2 times" in " ".join(result.output.split())
