"""The runs the report tests render, built through the engine on moto: a partial run (one
AWS operation fails), the first full apply and a no-op of the staging stack, after which
the bucket's lifecycle is changed out of band. Each report test module adds its own runs."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from controller.cli.demo.drift import shorten_lifecycle
from controller.cli.verbs import load_desired
from controller.engine.desired import Desired
from controller.engine.plan import PlanOptions
from controller.engine.runner import Runner
from tests.conftest import REGION, provide_example_certificates
from tests.integration.sqlite_runner import sqlite_runner
from tests.integration.test_engine import failing

ROOT = Path(__file__).resolve().parents[2]
STAGING = "acme-staging"


@contextlib.contextmanager
def moto_account() -> Iterator[None]:
    """moto in-process with test credentials, for a module's worth of runs (the autouse
    credentials fixture is per test, too short for a module fixture)."""
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            env.delenv(var, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        provide_example_certificates()
        yield


def staging_specs(folder: Path) -> Path:
    """A specs folder holding a copy of the staging spec."""
    folder.mkdir()
    shutil.copy(ROOT / "specs" / f"{STAGING}.yaml", folder)
    return folder


def staging_runner(tmp: Path) -> Runner:
    return sqlite_runner(tmp, max_attempts=1)


def first_runs(runner: Runner, desired: Desired) -> dict[str, int]:
    """partial, apply and noop, by name -> run id; the bucket is left drifted."""
    ids: dict[str, int] = {}
    outage = failing("ec2", "CreateSubnet")
    runner.new_clients = lambda: outage(max_attempts=1)  # type: ignore[method-assign]
    ids["partial"] = runner.apply(desired, PlanOptions()).run_id
    del runner.new_clients
    ids["apply"] = runner.apply(desired, PlanOptions()).run_id
    ids["noop"] = runner.apply(desired, PlanOptions()).run_id
    shorten_lifecycle(STAGING)
    return ids


def staged_runs(tmp: Path) -> tuple[Path, Runner, Desired, dict[str, int]]:
    """(specs, runner, desired, first runs): the staging spec copied to tmp/specs, a runner
    keeping its state and reports in `tmp`, the spec loaded, and first_runs made of it."""
    specs = staging_specs(tmp / "specs")
    runner = staging_runner(tmp)
    desired = load_desired(specs)
    return specs, runner, desired, first_runs(runner, desired)
