"""`plumb iam-policy`: a valid policy from the kinds' declarations, without AWS or a state.

That the policy covers every call a kind makes is checked against moto, in the
conformance suite (tests/integration/test_conformance.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from controller.cli.main import main
from controller.errors import PlumbError
from controller.kinds import iam_documents, iam_policy, registry
from controller.specs.expand import expand_all
from controller.specs.validate import load_and_validate

registry.load_all()
KINDS = sorted(registry.REGISTRY)
SPECS = Path(__file__).resolve().parents[2] / "specs"
BUCKET_SPEC = """apiVersion: plumb/v1
kind: Bucket
metadata: {product: acme, env: prod, region: eu-west-1, name: extra/archive}
spec: {bucketName: logs-archive}
"""


def _policy(*args: str, tmp_path: Path) -> dict[str, Any]:
    # A state URL in a folder that does not exist: the command must not open it.
    state = f"sqlite:///{tmp_path}/missing/state.db"
    result = CliRunner().invoke(main, ["--state", state, "iam-policy", *args])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "missing").exists()
    return json.loads(result.output)


def _actions(policy: dict[str, Any]) -> list[str]:
    return [
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_kind_declares_iam_actions(kind: str) -> None:
    declared = registry.REGISTRY[kind].descriptor.iam.actions
    assert declared, f"{kind} declares no iam_actions: plumb iam-policy would leave it out"
    assert len(set(declared)) == len(declared), f"{kind} declares an action twice"


def test_prints_one_statement_per_service_sorted_and_unique(tmp_path: Path) -> None:
    policy = _policy(tmp_path=tmp_path)
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids)) and all(sid.isalnum() for sid in sids), sids
    for statement in policy["Statement"]:
        if isinstance(statement["Action"], list):
            acts = statement["Action"]
            assert acts == sorted(set(acts)), f"{statement['Sid']}: not sorted and unique"
            assert len({a.split(":")[0] for a in acts}) == 1, f"{statement['Sid']} mixes services"
    assert "sts:GetCallerIdentity" in _actions(policy), "the engine's own call is left out"


def test_pass_role_only_to_ecs_tasks_and_plumb_roles(tmp_path: Path) -> None:
    passing = [s for s in _policy(tmp_path=tmp_path)["Statement"] if "iam:PassRole" in s["Action"]]
    assert len(passing) == 1
    assert passing[0]["Condition"] == {
        "StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}
    }
    assert passing[0]["Resource"] == ["arn:aws:iam::*:role/plumb/*"]


def test_kind_option_restricts_the_policy(tmp_path: Path) -> None:
    actions = _actions(_policy("--kind", "Vpc", tmp_path=tmp_path))
    assert "ec2:CreateVpc" in actions and "sts:GetCallerIdentity" in actions
    assert not [a for a in actions if not a.startswith(("ec2:", "sts:"))], actions


def test_compact_format_is_one_managed_policy_a_line(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path}/state.db"
    out = CliRunner().invoke(main, ["--state", state, "iam-policy", "--format", "compact"]).output
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) > 1, "the whole policy is over 6,144 characters: it must be cut"
    assert [s for p in lines for s in p["Statement"]] == iam_policy.build()["Statement"]


def test_specs_scope_names_stacks_and_kinds(tmp_path: Path) -> None:
    policy = _policy("--specs", str(SPECS), tmp_path=tmp_path)
    text = json.dumps(policy)
    bucket = [s for s in policy["Statement"] if "s3:PutBucketPolicy" in s["Action"]]
    assert bucket[0]["Resource"] == ["arn:aws:s3:::acme-*"]
    roles = [s for s in policy["Statement"] if "iam:PutRolePolicy" in s["Action"]]
    assert roles[0]["Resource"] == ["arn:aws:iam::*:role/plumb/acme-*"]
    assert '"aws:ResourceTag/plumb:stack": ["acme-prod", "acme-staging"]' in text
    assert "us-east-1" in text and ":::*" not in text


def test_only_the_kinds_the_specs_use(tmp_path: Path) -> None:
    (tmp_path / "bucket.yaml").write_text(BUCKET_SPEC)
    actions = _actions(_policy("--specs", str(tmp_path / "bucket.yaml"), tmp_path=tmp_path))
    assert {a.split(":")[0] for a in actions} == {"s3", "sts"}, actions
    policy = _policy("--specs", str(tmp_path / "bucket.yaml"), tmp_path=tmp_path)
    assert ["arn:aws:s3:::logs-archive"] in [s["Resource"] for s in policy["Statement"]]


def test_a_boundary_is_required_for_role_writes_and_kept(tmp_path: Path) -> None:
    arn = "arn:aws:iam::123456789012:policy/plumb-boundary"
    statements = _policy("--boundary-arn", arn, tmp_path=tmp_path)["Statement"]
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"):
        [grant] = [s for s in statements if action in s["Action"] and s["Effect"] == "Allow"]
        assert grant["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": arn}}
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Action"] == ["iam:DeleteRolePermissionsBoundary"]
    plain = _policy(tmp_path=tmp_path)["Statement"]
    assert not [
        s
        for s in plain
        if s["Effect"] == "Deny"
        or ("Condition" in s and "iam:PermissionsBoundary" in json.dumps(s["Condition"]))
    ]


def test_boundary_covers_what_the_environment_roles_use(tmp_path: Path) -> None:
    boundary = _policy("--boundary", tmp_path=tmp_path)
    allowed = set(_actions(boundary))
    docs = load_and_validate(str(SPECS))
    used = {
        a
        for r in expand_all(docs)
        if r.kind == "Role"
        for doc in r.spec.get("inlinePolicies", {}).values()
        for s in doc["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert used and used <= allowed, used - allowed
    assert not [a for a in allowed if a.startswith(("iam:", "sts:"))]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(["--kind", "Vpc", "--specs", "specs"], "not both", id="kind and specs"),
        pytest.param(["--specs", "no-such-dir"], "no-such-dir", id="no specs there"),
    ],
)
def test_bad_options_are_one_error_exit_1(tmp_path: Path, args: list[str], says: str) -> None:
    state = f"sqlite:///{tmp_path}/state.db"
    result = CliRunner().invoke(main, ["--state", state, "iam-policy", *args])
    output = result.stderr if result.stderr_bytes is not None else result.output
    assert result.exit_code == 1 and says in output, output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        pytest.param("Vcp", "there is no kind 'Vcp'; did you mean Vpc?", id="a misspelt kind"),
        pytest.param("Environment", "Environment is made of other kinds", id="a composition"),
    ],
)
def test_unknown_kind_is_one_line_and_exit_1(tmp_path: Path, kind: str, says: str) -> None:
    state = f"sqlite:///{tmp_path}/state.db"
    result = CliRunner().invoke(main, ["--state", state, "iam-policy", "--kind", kind])
    # click 8.2 mixes stderr into `output`; the message goes to stderr.
    output = result.stderr if result.stderr_bytes is not None else result.output
    assert result.exit_code == 1, output
    assert says in output and len(output.strip().splitlines()) == 1, output
    assert "Traceback" not in output and isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    "action",
    ["ec2:createVpc", "CreateVpc", "iam:PassRole", "iam:CreateServiceLinkedRole"],
    ids=["lower-case action", "no service", "PassRole unconditioned", "SLR unconditioned"],
)
def test_a_malformed_or_unconditioned_declaration_is_refused(
    monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    vpc = registry.REGISTRY["Vpc"]
    iam = dataclasses.replace(vpc.descriptor.iam, actions=(action,))
    monkeypatch.setattr(vpc, "descriptor", dataclasses.replace(vpc.descriptor, iam=iam))
    with pytest.raises(ValueError, match=action):
        iam_policy.build(["Vpc"])


def _grants(statements: list[dict[str, Any]]) -> list[str]:
    return sorted(
        json.dumps([a, s["Resource"], s.get("Condition")], sort_keys=True)
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )


def test_a_statement_too_large_for_one_policy_is_halved_by_its_actions() -> None:
    whole = iam_policy.build()
    policies = iam_documents.managed_policies(whole, limit=900)
    assert len(policies) > 10 and all(iam_documents.size(p) <= 900 for p in policies)
    assert _grants([s for p in policies for s in p["Statement"]]) == _grants(whole["Statement"])
    for policy in policies:
        sids = [s["Sid"] for s in policy["Statement"]]
        assert len(sids) == len(set(sids)), sids


def test_an_action_too_large_alone_is_a_plumb_error() -> None:
    with pytest.raises(PlumbError, match="alone exceeds IAM's 100 characters"):
        iam_documents.managed_policies(iam_policy.build(["Vpc"]), limit=100)
