"""`plumb iam-policy`: a valid policy from the kinds' declarations, without AWS or a state.

That the policy covers every call a kind makes is checked against moto, in the
conformance suite (tests/integration/test_conformance.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import reconcilers
from controller import iam_policy
from controller.cli import main

reconcilers.load_all()
KINDS = sorted(reconcilers.REGISTRY)


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
    declared = reconcilers.REGISTRY[kind].iam_actions
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


def test_pass_role_only_to_ecs_tasks(tmp_path: Path) -> None:
    passing = [s for s in _policy(tmp_path=tmp_path)["Statement"] if "iam:PassRole" in s["Action"]]
    assert len(passing) == 1
    assert passing[0]["Condition"] == {
        "StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}
    }


def test_kind_option_restricts_the_policy(tmp_path: Path) -> None:
    actions = _actions(_policy("--kind", "Vpc", tmp_path=tmp_path))
    assert "ec2:CreateVpc" in actions and "sts:GetCallerIdentity" in actions
    assert not [a for a in actions if not a.startswith(("ec2:", "sts:"))], actions


def test_compact_format_is_one_line(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path}/state.db"
    out = CliRunner().invoke(main, ["--state", state, "iam-policy", "--format", "compact"]).output
    assert out.count("\n") == 1 and json.loads(out) == iam_policy.build()


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
    monkeypatch.setattr(reconcilers.REGISTRY["Vpc"], "iam_actions", (action,))
    with pytest.raises(ValueError, match=action):
        iam_policy.build(["Vpc"])
