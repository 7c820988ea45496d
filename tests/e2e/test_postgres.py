"""Two plumb processes sharing a PostgreSQL state, as replicas would: one writer per stack
at a time, no duplicate resources, one unbroken hash chain."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.e2e.conftest import Cli

PG_ENV = "PLUMB_TEST_POSTGRES"


@pytest.fixture
def pg_state(cli: Cli) -> Iterator[str]:
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


@pytest.mark.postgres
def test_two_replicas_on_one_postgres_state_build_each_resource_once(
    cli: Cli, aws, pg_state: str
) -> None:
    first = cli.popen("apply", "--yes", "--stack", "acme-prod")
    second = cli.popen("apply", "--yes", "--stack", "acme-prod")
    outputs = [p.communicate(timeout=180) for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    # Either the lease made one wait out (exit 1, "locked") or they ran one after the other.
    assert codes in ([0, 0], [0, 1]), outputs
    if codes == [0, 1]:
        assert any("locked" in err for _, err in outputs)
    vpcs = aws.ec2.describe_vpcs(Filters=[{"Name": "tag:plumb:stack", "Values": ["acme-prod"]}])
    assert len(vpcs["Vpcs"]) == 1
    cli("apply", "--yes", "--stack", "acme-prod", check=0)
    assert cli.latest_run()["apiCalls"]["writes"] == 0
    assert "chain intact" in cli("audit", "verify", check=0).stdout
