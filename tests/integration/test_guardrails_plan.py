"""The guardrails at plan time (issue 17): a trust policy naming the account the spec's ARNs
call its own is refused when STS says plumb acts in another account; and the exceptions a
stack makes are listed in the run's report."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import boto3
import jsonschema
import pytest
from click.testing import CliRunner

from controller.cli import main as cli
from tests.integration.cli_workdir import cli_workdir

SPEC_ACCOUNT, MOTO_ACCOUNT = "111111111111", "123456789012"
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "report.json").read_text())
ROLE = textwrap.dedent(f"""
    apiVersion: plumb/v1
    kind: Role
    metadata: {{product: acme, env: audit, region: us-east-1, name: extra/reader}}
    spec:
      roleName: acme-audit-reader
      assumeRolePolicy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{AWS: "arn:aws:iam::{SPEC_ACCOUNT}:root"}}
            Action: sts:AssumeRole
      inlinePolicies:
        read:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: [secretsmanager:GetSecretValue]
              Resource: ["arn:aws:secretsmanager:us-east-1:{SPEC_ACCOUNT}:secret:acme/audit-*"]
    """).lstrip()


@pytest.fixture
def workdir(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_workdir(tmp_path, monkeypatch, {"reader.yaml": ROLE})


def _roles() -> list[str]:
    iam = boto3.client("iam", region_name="us-east-1")
    return [r["RoleName"] for r in iam.list_roles(PathPrefix="/plumb/")["Roles"]]


def test_a_trust_in_the_specs_account_is_refused_in_another_account(workdir: Path) -> None:
    done = CliRunner().invoke(cli.main, ["validate", "specs"])
    assert done.exit_code == 0, done.output  # the spec alone cannot tell
    done = CliRunner().invoke(cli.main, ["plan", "specs"], env={"COLUMNS": "300"})
    assert done.exit_code == 1, done.output
    assert "Traceback" not in done.output
    assert (
        f"acme-audit/extra/reader: the trust policy lets account {SPEC_ACCOUNT} assume the "
        f"role, not the stack's own ({MOTO_ACCOUNT})"
    ) in done.output
    done = CliRunner().invoke(cli.main, ["apply", "specs", "--yes"], env={"COLUMNS": "300"})
    assert done.exit_code != 0, done.output
    assert _roles() == [], "nothing is created for a refused grant"


EXCEPTION = textwrap.dedent("""
    apiVersion: plumb/v1
    kind: Environment
    metadata: {product: acme, env: audit, region: us-east-1}
    spec: {}
    policy:
      exceptions:
        - guardrail: trust-foreign-account
          resource: extra/reader
          owner: security@acme.example
          reason: the audit account reads the secrets
          expires: "2999-01-31"
    """).lstrip()


def test_an_accepted_grant_is_applied_and_its_exception_is_in_the_report(
    workdir: Path,
) -> None:
    (workdir / "specs" / "policy.yaml").write_text(EXCEPTION)
    done = CliRunner().invoke(cli.main, ["apply", "specs", "--yes"], env={"COLUMNS": "300"})
    assert done.exit_code == 0, done.output
    assert _roles() == ["acme-audit-reader"]
    done = CliRunner().invoke(cli.main, ["report", "1", "--format", "json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    jsonschema.validate(report, SCHEMA)
    assert report["exceptions"] == [
        {
            "stack": "acme-audit",
            "guardrail": "trust-foreign-account",
            "resource": "extra/reader",
            "owner": "security@acme.example",
            "reason": "the audit account reads the secrets",
            "expires": "2999-01-31",
            "status": "active",
            "daysLeft": (dt.date(2999, 1, 31) - dt.date.today()).days,
        }
    ]
    for fmt, heading in (("markdown", "### Guardrail exceptions"), ("html", 'id="exceptions"')):
        done = CliRunner().invoke(cli.main, ["report", "1", "--format", fmt])
        assert heading in done.output and "trust-foreign-account" in done.output
    assert CliRunner().invoke(cli.main, ["audit", "verify"]).exit_code == 0
