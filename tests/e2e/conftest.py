"""End-to-end fixtures: a moto server on loopback, a git repository of specs, the real CLI.

The server runs in the pytest process (ThreadedMotoServer) so plumb's moto patches apply to
it; the CLI runs as a separate process (`python -m controller`), as a user would run it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from plumb_embedded.endpoint import EmbeddedAws
from tests.conftest import provide_example_certificates

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    aws = EmbeddedAws()
    endpoint = aws.start()
    yield endpoint
    aws.stop()


@pytest.fixture
def endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean account for every test."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"))
    provide_example_certificates()  # the server is a thread of this process
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server


@dataclass
class Cli:
    cwd: Path
    env: dict[str, str]

    def __call__(
        self, *args: str, check: int | None = None, timeout: int = 180
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "controller", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check is not None:
            assert done.returncode == check, (
                f"plumb {' '.join(args)} exited {done.returncode}, expected {check}\n"
                f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
            )
        return done

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "controller", *args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def latest_run(self) -> dict[str, Any]:
        out = self("report", "latest", "--format", "json", check=0).stdout
        return json.loads(out)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    return tmp_path


@pytest.fixture
def cli(endpoint: str, workdir: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PLUMB_STATE": f"sqlite:///{workdir}/.plumb/state.db",
            "PYTHONPATH": str(ROOT),
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
    )
    env.pop("AWS_PROFILE", None)
    return Cli(workdir, env)


@pytest.fixture
def aws(endpoint: str) -> Any:
    """boto3 clients on the moto server, for reading back what AWS holds."""

    class Clients:
        def __getattr__(self, service: str) -> Any:
            return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint)

    return Clients()


def git_repo(folder: Path, specs: Path) -> Path:
    repo = folder / "repo"
    shutil.copytree(specs, repo / "specs")
    git = ["git", "-c", "user.name=Ada Platform", "-c", "user.email=ada@acme.example"]
    subprocess.run(["git", "init", "-q", "--initial-branch=main", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", "acme: first stack"], check=True)
    return repo


PG_ENV = "PLUMB_TEST_POSTGRES"


@pytest.fixture
def pg_state(cli: Cli) -> Iterator[str]:
    """The CLI's state in a schema of its own on the PostgreSQL .ci/run starts."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    cli.env["PLUMB_STATE"] = url.render_as_string(hide_password=False)
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
