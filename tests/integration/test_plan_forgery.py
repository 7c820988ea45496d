"""A saved plan edited and sealed again with plumb's own public functions (`fingerprint`,
`sealed`) is not applied: with a plan key its seal cannot be recomputed, and with or without
one what it asks for is checked again as a spec would be. Through the CLI, on moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from controller.cli import main as cli
from controller.engine import planfile
from tests.integration.cli_workdir import cli_workdir

ROLE = "acme-prod-task"
TRUST = '{"Service": "ecs-tasks.amazonaws.com"}'
SPEC = f"""\
apiVersion: plumb/v1
kind: Role
metadata: {{product: acme, env: prod, region: us-east-1, name: identity/task-role}}
spec:
  roleName: {ROLE}
  description: the app's task role
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Principal: {TRUST}
        Action: sts:AssumeRole
"""


@pytest.fixture
def workdir(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cli_workdir(tmp_path, monkeypatch, {"role.yaml": SPEC})
    (tmp_path / "key").write_text("the plan key\n")
    for name in ("PLUMB_PLAN_KEY", "PLUMB_AUDIT_KEY", "PLUMB_PLAN_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def plumb(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


class _Saved:
    """An action as the plan file holds it, for `planfile.fingerprint`."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.data))


def forge(path: Path, edit: Callable[[str], str]) -> None:
    """What the security review did: edit the plan, then recompute its fingerprint and seal
    with plumb's public functions."""
    data = json.loads(edit(path.read_text()))
    data.pop("seal")
    data["fingerprint"] = planfile.fingerprint(_Saved(a) for a in data["actions"])
    path.write_text(json.dumps(planfile.sealed(data), indent=2))


def anyone_may_assume(text: str) -> str:
    return text.replace('"Service": "ecs-tasks.amazonaws.com"', '"AWS": "*"')


def role() -> dict[str, Any] | None:
    iam = boto3.client("iam", region_name="us-east-1")
    try:
        return iam.get_role(RoleName=ROLE)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return None


def commands(workdir: Path) -> list[str]:
    from controller.state.store import Store

    store = Store(f"sqlite:///{workdir}/state.db")
    try:
        return [str(r["command"]) for r in store.runs.recent()]
    finally:
        store.close()


def refused(result: Result, says: str) -> None:
    assert result.exit_code == 1, result.output
    assert says in result.output, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert role() is None, "nothing was applied"


@pytest.mark.parametrize("key", ["PLUMB_PLAN_KEY", "PLUMB_AUDIT_KEY"])
def test_with_a_key_a_plan_sealed_again_without_it_is_refused(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv(key, "the plan key")  # the audit key seals plans when no plan key is given
    assert plumb("plan", "specs", "-o", "plan.json").exit_code == 0
    forge(workdir / "plan.json", anyone_may_assume)
    result = plumb("apply", "--plan", "plan.json")
    refused(result, "the plan file plan.json is not sealed with the plan key")
    assert "make a new plan with the key" in result.output
    assert commands(workdir) == ["plan"], "a refused plan records no run"


def test_a_plan_sealed_with_a_key_applies_with_that_key_only(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUMB_PLAN_KEY", "the plan key")
    assert plumb("plan", "specs", "-o", "plan.json").exit_code == 0
    monkeypatch.setenv("PLUMB_PLAN_KEY", "another key")
    refused(plumb("apply", "--plan", "plan.json"), "was altered after plumb wrote it")
    monkeypatch.delenv("PLUMB_PLAN_KEY")
    without = plumb("apply", "--plan", "plan.json")
    refused(without, "is sealed with a plan key; give the key it was made with")
    assert commands(workdir) == ["plan"]
    applied = plumb("apply", "--plan", "plan.json", "--plan-key-file", "key")
    assert applied.exit_code == 0, applied.output
    assert role() is not None
    assert json.loads((workdir / "plan.json").read_text())["sealAlgorithm"] == "hmac-sha256"


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        pytest.param(
            lambda text: text.replace('"/plumb/"', '"/"'),
            "plan.json: acme-prod/identity/task-role: spec.path: is not a valid value",
            id="outside-its-kinds-schema",
        ),
        pytest.param(
            lambda text: text.replace("the app's task role", "key AKIAIOSFODNN7EXAMPLE"),
            "plan.json: acme-prod/identity/task-role: spec.description: holds what looks like "
            "an AWS access key id",
            id="a-credential",
        ),
    ],
)
def test_without_a_key_a_plan_asking_for_what_a_spec_may_not_is_refused(
    workdir: Path, edit: Callable[[str], str], says: str
) -> None:
    assert plumb("plan", "specs", "-o", "plan.json").exit_code == 0
    forge(workdir / "plan.json", edit)
    result = plumb("apply", "--plan", "plan.json")
    refused(result, says)
    assert "nothing was applied" in result.output
    assert "AKIAIOSFODNN7EXAMPLE" not in result.output
    assert commands(workdir) == ["plan"]


def test_without_a_key_a_forged_grant_to_anyone_is_refused_before_anything_runs(
    workdir: Path,
) -> None:
    assert plumb("plan", "specs", "-o", "plan.json").exit_code == 0
    forge(workdir / "plan.json", anyone_may_assume)
    result = plumb("apply", "--plan", "plan.json")
    refused(
        result,
        "plan.json: acme-prod/identity/task-role: spec.assumeRolePolicy.Statement[0].Principal"
        ".AWS: the trust policy's principal '*' lets anyone assume the role",
    )
    assert commands(workdir) == ["plan"], "a refused plan records no run"
