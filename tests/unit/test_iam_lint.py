"""plumb's policy as a security review reads it: parliament (duo-labs' IAM linter) finds
nothing above LOW but what security/parliament.yaml mutes with a reason, no write is on
Resource "*" but the ones `STAR_WRITES` justifies, and every managed policy fits IAM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import parliament
import pytest
import yaml
from click.testing import CliRunner

from controller.cli.main import main
from controller.kinds import iam_policy
from controller.kinds.iam_documents import MANAGED_LIMIT, size
from controller.kinds.iam_scope import STAR_WRITES
from tests.unit.iam_data import access_level

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "security" / "parliament.yaml"
SEVERITIES = ["MUTE", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
BOUNDARY = "arn:aws:iam::123456789012:policy/plumb-boundary"
VARIANTS = {
    "generic": [],
    "specs": ["--specs", str(ROOT / "specs")],
    "bounded": ["--specs", str(ROOT / "specs"), "--boundary-arn", BOUNDARY],
}


def _policies(args: list[str], tmp_path: Path, fmt: str = "compact") -> list[dict[str, Any]]:
    state = f"sqlite:///{tmp_path}/missing/state.db"
    result = CliRunner().invoke(main, ["--state", state, "iam-policy", "--format", fmt, *args])
    assert result.exit_code == 0, result.output
    if fmt == "json":
        return [json.loads(result.output)]
    return [json.loads(line) for line in result.output.splitlines()]


def _statements(args: list[str], tmp_path: Path) -> list[dict[str, Any]]:
    return [s for p in _policies(args, tmp_path) for s in p["Statement"]]


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@pytest.mark.parametrize("args", VARIANTS.values(), ids=VARIANTS.keys())
def test_no_write_on_resource_star(args: list[str], tmp_path: Path) -> None:
    """On main every write was on "*": iam:CreateRole, PutRolePolicy, PassRole included."""
    on_star = {
        action
        for s in _statements(args, tmp_path)
        if s["Effect"] == "Allow" and "*" in _listed(s["Resource"])
        for action in _listed(s["Action"])
    }
    writes = sorted(a for a in on_star if access_level(a) not in ("Read", "List"))
    assert writes == sorted(set(writes) & set(STAR_WRITES)), writes
    for action in STAR_WRITES:
        assert len(STAR_WRITES[action]) > 20, f"{action}: say why it is on '*'"


def test_role_writes_and_pass_role_only_under_plumb_path(tmp_path: Path) -> None:
    for s in _statements([], tmp_path):
        if (
            any(
                a.startswith("iam:") and a != "iam:CreateServiceLinkedRole"
                for a in _listed(s["Action"])
            )
            and s["Effect"] == "Allow"
        ):
            reads = all(access_level(a) in ("Read", "List") for a in _listed(s["Action"]))
            assert reads or all(":role/plumb/" in r for r in _listed(s["Resource"])), s


@pytest.mark.parametrize("args", VARIANTS.values(), ids=VARIANTS.keys())
def test_every_managed_policy_fits_iam(args: list[str], tmp_path: Path) -> None:
    policies = _policies(args, tmp_path)
    assert all(size(p) <= MANAGED_LIMIT for p in policies), [size(p) for p in policies]
    [whole] = _policies(args, tmp_path, fmt="json")
    assert [s for p in policies for s in p["Statement"]] == whole["Statement"]


def _config() -> dict[str, Any]:
    return dict(yaml.safe_load(CONFIG.read_text()))


def _findings(policy: dict[str, Any]) -> list[Any]:
    parliament.override_config(str(CONFIG))
    found = parliament.analyze_policy_string(json.dumps(policy, indent=2)).findings
    return [parliament.enhance_finding(f) for f in found]


@pytest.mark.parametrize("args", VARIANTS.values(), ids=VARIANTS.keys())
def test_parliament_finds_nothing_above_low(args: list[str], tmp_path: Path) -> None:
    [policy] = _policies(args, tmp_path, fmt="json")
    findings = _findings(policy)
    loud = [(f.issue, f.detail) for f in findings if SEVERITIES.index(f.severity) > 2]
    assert not loud, loud
    config = _config()
    for finding in findings:
        if finding.severity != "MUTE":
            continue
        allowed = set(config[finding.issue]["actions"])
        named = _actions_named(finding.detail)
        assert named and named <= allowed, (finding.issue, finding.detail)


def _actions_named(detail: Any) -> set[str]:
    if isinstance(detail, list):
        return {str(d["action"]) for d in detail if isinstance(d, dict)}
    # "... due to s3:PutObject not being allowed, but does allow s3:PutBucketPolicy"
    return {str(detail).rsplit(" ", 1)[-1]}


def test_each_suppression_says_why() -> None:
    for issue, settings in _config().items():
        assert settings["severity"] == "MUTE" and len(settings["reason"]) > 80, issue
        assert settings["actions"], f"{issue}: name the actions it may concern"


def test_old_policy_would_fail_the_lint() -> None:
    """The check can fail: main's policy (every write on "*") has MEDIUM findings left
    once the muted ones are set aside, and sensitive writes on "*"."""
    everything = {a for k in iam_policy.kinds_for() for a in k.descriptor.iam.actions}
    old = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": sorted(everything), "Resource": "*"}],
    }
    writes = [a for a in everything if access_level(a) not in ("Read", "List")]
    assert "iam:PutRolePolicy" in writes and set(writes) - set(STAR_WRITES)
    assert _findings(old)
