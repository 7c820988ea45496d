"""The guardrails at plan time (issue 17): a trust policy naming the account the spec's ARNs
call its own is refused when STS says plumb acts in another account; and the exceptions a
stack makes are listed in the run's report."""

from __future__ import annotations

import textwrap
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from controller import cli

SPEC_ACCOUNT, MOTO_ACCOUNT = "111111111111", "123456789012"
ROLE = textwrap.dedent(f"""
    apiVersion: plumb/v1
    kind: Role
    metadata: {{product: acme, env: audit, region: us-east-1, name: extra/reader}}
    spec:
      roleName: acme-audit-reader
      assumeRolePolicy:
        Statement:
          - Effect: Allow
            Principal: {{AWS: "arn:aws:iam::{SPEC_ACCOUNT}:root"}}
            Action: sts:AssumeRole
      inlinePolicies:
        read:
          Statement:
            - Effect: Allow
              Action: [secretsmanager:GetSecretValue]
              Resource: ["arn:aws:secretsmanager:us-east-1:{SPEC_ACCOUNT}:secret:acme/audit-*"]
    """).lstrip()


@pytest.fixture
def workdir(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "reader.yaml").write_text(ROLE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLUMB_STATE", f"sqlite:///{tmp_path}/state.db")
    return tmp_path


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
