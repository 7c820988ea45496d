"""A saved plan is applied only as plumb wrote it: an edit, a stranger's file or no JSON at
all is refused with what it is, never as "AWS changed"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from controller.engine.planfile import FORMAT, load, sealed
from controller.errors import PlanError

PLAN = {
    "format": FORMAT,
    "commit": {},
    "options": {"allowReplace": False, "allowDeletes": False},
    "policies": {},
    "resources": [
        {
            "kind": "LogGroup",
            "logicalId": "acme-prod/app/log-group",
            "region": "us-east-1",
            "spec": {"logGroupName": "/acme/prod/app", "retentionInDays": 30},
        }
    ],
    "actions": [],
    "fingerprint": "0" * 64,
}


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data, indent=2) if not isinstance(data, str) else data)
    return path


def test_a_plan_as_plumb_wrote_it_loads(tmp_path: Path) -> None:
    saved = load(_write(tmp_path, sealed(PLAN)))
    assert [r.logical_id for r in saved.resources] == ["acme-prod/app/log-group"]


def test_an_edited_plan_is_refused_as_altered_not_as_stale(tmp_path: Path) -> None:
    data = sealed(PLAN)
    data["resources"][0]["spec"]["retentionInDays"] = 1
    with pytest.raises(PlanError, match="was altered after plumb wrote it"):
        load(_write(tmp_path, data))


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not a plumb plan file (not JSON)"),
        ([1, 2], "is not a plumb plan file (no format"),
        ({"format": "terraform"}, "is not a plumb plan file (no format"),
        (PLAN, "has no seal"),
    ],
    ids=["not-json", "a-list", "another-format", "unsealed"],
)
def test_a_file_that_is_not_a_plumb_plan_says_so(tmp_path: Path, content, says) -> None:
    with pytest.raises(PlanError, match=re.escape(says)):
        load(_write(tmp_path, content))


def test_a_missing_plan_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read the plan file"):
        load(tmp_path / "nope.json")


# -- the seal with a plan key ----------------------------------------------------------------

KEY = b"the plan key"


def test_a_plan_sealed_with_a_key_loads_with_that_key_only(tmp_path: Path) -> None:
    data = sealed(PLAN, KEY)
    assert data["sealAlgorithm"] == "hmac-sha256"
    assert load(_write(tmp_path, data), KEY).resources
    with pytest.raises(PlanError, match="is sealed with a plan key; give the key"):
        load(_write(tmp_path, data))
    with pytest.raises(PlanError, match=r"was altered after plumb wrote it .* or the key is not"):
        load(_write(tmp_path, data), b"another key")


def test_with_a_key_a_plain_seal_is_refused_even_when_it_matches(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="is not sealed with the plan key"):
        load(_write(tmp_path, sealed(PLAN)), KEY)


@pytest.mark.parametrize(
    "seal",
    [{"sealAlgorithm": "none"}, {"seal": 12}, {"seal": "é" * 64}],
    ids=["unknown-algorithm", "not-a-string", "not-ascii"],
)
def test_a_seal_plumb_never_writes_is_refused_as_altered(tmp_path: Path, seal: dict) -> None:
    data = {**sealed(PLAN), **seal}
    with pytest.raises(PlanError, match="was altered after plumb wrote it"):
        load(_write(tmp_path, data))


# -- what a saved plan asks for, checked again ------------------------------------------------


def _entry(name: str = "app/log-group", **fields: object) -> dict:
    return {**PLAN["resources"][0], "logicalId": f"acme-prod/{name}", **fields}


def _issues(*entries: dict, policies: dict | None = None) -> list[str]:
    from controller.engine.plan_checks import issues

    stacks = {"acme-prod": {"prune": False, "selfHeal": True, "maxDeletes": 3, "ignoreDrift": []}}
    return issues(
        {"resources": list(entries), "policies": stacks if policies is None else policies}
    )


def test_a_plan_of_the_example_specs_passes_the_checks() -> None:
    from controller.engine.desired import load_desired
    from controller.engine.planfile import _resource_json

    desired = load_desired(str(Path(__file__).parents[2] / "specs"), by_hand=False)
    resources = [_resource_json(r) for r in desired.resources]
    policies = {s: p.to_json() for s, p in desired.policies.items()}
    assert _issues(*resources, policies=policies) == []


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (_entry(kind="Widget"), "acme-prod/app/log-group: kind: is not a kind plumb manages"),
        (_entry(logicalId="acme-prod/x\n/y"), "resources[0]: logicalId: is not a logical id"),
        (_entry(region="us-east-1.example.com"), "acme-prod/app/log-group: region: must be"),
        (_entry(tags={"plumb:stack": "other"}), "tags.plumb:stack: 'plumb:stack' is not"),
        (_entry(spec={"logGroupName": 7}), "log-group: spec.logGroupName: expected string"),
        (
            _entry(spec={"logGroupName": {"ref": "other-prod/app/x", "attr": "name"}}),
            "log-group: spec.logGroupName: refers to no resource of stack acme-prod",
        ),
        (_entry(after=["app/nothing"]), "log-group: after[0]: names no resource of stack"),
        (_entry(owner="me"), "acme-prod/app/log-group: owner: unknown field 'owner'"),
        (
            _entry(spec={"logGroupName": "/a", "retentionInDays": 30, "AKIAIOSFODNN7EXAMPLE": 1}),
            "log-group: spec.<key that looks like a credential>: holds what looks like an AWS",
        ),
    ],
    ids=[
        "unknown-kind",
        "logical-id",
        "region",
        "reserved-tag",
        "schema",
        "reference-elsewhere",
        "after",
        "extra-field",
        "credential-key",
    ],
)
def test_a_resource_a_spec_could_not_hold_is_named_with_its_field(entry: dict, says: str) -> None:
    found = _issues(entry)
    assert any(says in line for line in found), found
    assert all("\n" not in line and "AKIAIOSFODNN7EXAMPLE" not in line for line in found)


def test_a_reference_to_a_resource_of_the_stack_stands_where_a_string_goes() -> None:
    group = _entry("app/other", spec={"logGroupName": {"ref": "app/log-group", "attr": "name"}})
    assert _issues(_entry(), group) == []
    joined = _entry("app/other", spec={"logGroupName": {"join": ["no spaces ", "here"]}})
    assert any("spec.logGroupName" in line for line in _issues(_entry(), joined))


def test_the_stacks_of_the_resources_and_the_policies_agree() -> None:
    policy = {"prune": True}
    found = _issues(_entry(), policies={"acme-prod": policy, "victim-prod": policy})
    assert found == ["policies.victim-prod: is not the policy of a stack the plan has resources in"]
    found = _issues(_entry(), policies={})
    assert found == ["acme-prod/app/log-group: logicalId: its stack has no policy in the plan"]


def test_a_policy_is_of_the_policys_shape_and_its_waivers_name_resources_of_its_stack() -> None:
    waiver = {"resource": "app/gone", "field": "x", "reason": "r", "owner": "o"}
    found = _issues(_entry(), policies={"acme-prod": {"maxDeletes": -1, "ignoreDrift": [waiver]}})
    assert "policies.acme-prod: maxDeletes: must be at least 0" in found
    assert "policies.acme-prod: ignoreDrift[0]: missing required field 'expires'" in found
    assert (
        "policies.acme-prod: ignoreDrift[0].resource: names no resource of stack acme-prod" in found
    )


def test_a_plan_breaking_many_rules_is_refused_in_a_bounded_number_of_lines(
    tmp_path: Path,
) -> None:
    from controller.engine.plan_checks import MAX_SHOWN, check

    many = [_entry(f"app/g{n}", kind="Widget") for n in range(50)]
    with pytest.raises(PlanError) as refused:
        check({"resources": many, "policies": {"acme-prod": {}}}, "plan.json")
    lines = str(refused.value).splitlines()
    assert len(lines) == MAX_SHOWN + 2 and "nothing was applied" in lines[0]
    assert lines[-1] == f"plan.json: {50 - MAX_SHOWN} more problems not shown"


ANYONE = {
    **PLAN["resources"][0],
    "kind": "Role",
    "logicalId": "acme-prod/identity/task-role",
    "spec": {
        "roleName": "acme-prod-task",
        "assumeRolePolicy": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ],
        },
    },
}


def _exception(expires: str, guardrail: str = "trust-anyone") -> dict:
    return {
        "exceptions": [
            {
                "guardrail": guardrail,
                "resource": "identity/task-role",
                "reason": "a partner's federation",
                "owner": "platform@acme.example",
                "expires": expires,
            }
        ]
    }


def test_the_guardrails_hold_and_an_exception_in_the_plan_accepts_until_it_expires() -> None:
    says = (
        "acme-prod/identity/task-role: spec.assumeRolePolicy.Statement[0].Principal.AWS: "
        "the trust policy's principal '*' lets anyone assume the role"
    )
    assert any(line.startswith(says) for line in _issues(ANYONE))
    assert _issues(ANYONE, policies={"acme-prod": _exception("2999-12-31")}) == []
    expired = _issues(ANYONE, policies={"acme-prod": _exception("2020-01-01")})
    assert len(expired) == 1 and "its exception expired on 2020-01-01" in expired[0]
    unknown = _issues(ANYONE, policies={"acme-prod": _exception("2999-12-31", "trust-all")})
    assert any(
        "policies.acme-prod: exceptions[0].guardrail: unknown guardrail" in u for u in unknown
    )
