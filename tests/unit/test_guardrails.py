"""Guardrails on what a spec may grant (issue 17): refused by `plumb validate` at the field,
unless the stack's policy.exceptions accepts the grant, until the exception expires."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli.main import main
from controller.model import Resource
from controller.specs.guardrails import Finding, guardrail_findings
from controller.specs.policy import GuardrailException, StackPolicy
from tests.unit.base_spec import BASE

TRUST = "{Effect: Allow, Principal: {Service: ecs-tasks.amazonaws.com}, Action: sts:AssumeRole}"
ROLE = textwrap.dedent("""
    apiVersion: plumb/v1
    kind: Role
    metadata: {product: acme, env: prod, region: us-east-1, name: extra/role}
    spec:
      roleName: acme-prod-extra
      assumeRolePolicy:
        Statement:
          - TRUST
      managedPolicyArns: [arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy]
      inlinePolicies:
        read:
          Statement:
            - {Effect: Allow, Action: [ecr:GetAuthorizationToken], Resource: "*"}
    """).lstrip()
TASK = textwrap.dedent("""
    ---
    apiVersion: plumb/v1
    kind: TaskDefinition
    metadata: {product: acme, env: prod, region: us-east-1, name: extra/task}
    spec:
      family: acme-prod-extra
      cpu: "256"
      memory: "512"
      taskRoleArn: TASK_ROLE
      executionRoleArn: arn:aws:iam::123456789012:role/plumb/acme-prod-extra
      container: {name: app, image: "nginx:1"}
    """)
FUTURE, PAST = "2999-01-31", "2020-01-31"


def _role(old: str = "", new: str = "", trust: str = TRUST) -> str:
    text = ROLE.replace("TRUST", trust)
    assert not old or text.count(old) == 1, f"not exactly one {old!r}"
    return text.replace(old, new) if old else text


def _validate(tmp_path: Path, role: str, policy: str = "", task: str = "") -> tuple[int, str]:
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "env.yaml").write_text(BASE + policy)
    (specs / "role.yaml").write_text(role + task)
    done = CliRunner().invoke(main, ["validate", str(specs)], env={"COLUMNS": "300"})
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    assert "Traceback" not in done.output
    return done.exit_code, done.output


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def _line(text: str, needle: str) -> int:
    [line] = [n for n, content in enumerate(text.splitlines(), 1) if needle in content]
    return line


def _exception(guardrail: str, resource: str = "extra/role", expires: str = FUTURE) -> str:
    return (
        "  exceptions:\n"
        f"    - {{guardrail: {guardrail}, resource: {resource}, owner: sec@acme,"
        f" reason: audit account reads logs, expires: {expires}}}\n"
    )


HOSTILE = [
    pytest.param(
        _role(trust='{Effect: Allow, Principal: {AWS: "*"}, Action: sts:AssumeRole}'),
        "trust-anyone",
        "spec.assumeRolePolicy.Statement[0].Principal.AWS",
        "Principal: {AWS",
        id="trust AWS *",
    ),
    pytest.param(
        _role(trust='{Effect: Allow, Principal: "*", Action: sts:AssumeRole}'),
        "trust-anyone",
        "spec.assumeRolePolicy.Statement[0].Principal",
        "Principal: ",
        id="trust *",
    ),
    pytest.param(
        _role(trust="{Effect: Allow, NotPrincipal: {AWS: arn:aws:iam::123456789012:root}}"),
        "trust-anyone",
        "spec.assumeRolePolicy.Statement[0].NotPrincipal",
        "NotPrincipal",
        id="trust NotPrincipal",
    ),
    pytest.param(
        _role(trust="{Effect: Allow, Principal: {AWS: [arn:aws:iam::999999999999:root]}}"),
        "trust-foreign-account",
        "spec.assumeRolePolicy.Statement[0].Principal.AWS[0]",
        "999999999999",
        id="trust another account",
    ),
    pytest.param(
        _role(trust='{Effect: Allow, Principal: {AWS: "999999999999"}}'),
        "trust-foreign-account",
        "spec.assumeRolePolicy.Statement[0].Principal.AWS",
        "999999999999",
        id="trust another account's id",
    ),
    *(
        pytest.param(
            _role("service-role/AmazonECSTaskExecutionRolePolicy", name),
            "admin-managed-policy",
            "spec.managedPolicyArns[0]",
            "managedPolicyArns",
            id=name,
        )
        for name in ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
    ),
    pytest.param(
        _role("service-role/AmazonECSTaskExecutionRolePolicy", "AmazonS3FullAccess"),
        "managed-policy-not-allowed",
        "spec.managedPolicyArns[0]",
        "managedPolicyArns",
        id="managed policy off the list",
    ),
    *(
        pytest.param(
            _role("[ecr:GetAuthorizationToken]", f"[s3:GetObject, {action!r}]"),
            "inline-star",
            "spec.inlinePolicies.read.Statement[0].Action[1]",
            "Resource:",
            id=f"inline {action}",
        )
        for action in ("*", "iam:*", "sts:*", "iam:Put*", "IAM:Create*", "s3:*")
    ),
    pytest.param(
        _role("Action: [ecr:GetAuthorizationToken]", "NotAction: [s3:GetObject]"),
        "inline-star",
        "spec.inlinePolicies.read.Statement[0].NotAction",
        "Resource:",
        id="inline NotAction",
    ),
]


@pytest.mark.parametrize(("role", "guardrail", "path", "needle"), HOSTILE)
def test_a_hostile_grant_is_refused_at_its_field(
    tmp_path: Path, role: str, guardrail: str, path: str, needle: str
) -> None:
    code, output = _validate(tmp_path, role)
    assert code == 1, output
    [error] = _errors(output)
    specs = tmp_path / "specs"
    assert error.startswith(f"error: {specs}/role.yaml:{_line(role, needle)}:"), error
    assert f": {path}: acme-prod/extra/role: " in error
    assert f"guardrail: {guardrail}, resource: extra/role" in error


@pytest.mark.parametrize(("role", "guardrail", "path", "needle"), HOSTILE)
def test_an_exception_accepts_the_grant_until_it_expires(
    tmp_path: Path, role: str, guardrail: str, path: str, needle: str
) -> None:
    code, output = _validate(tmp_path, role, _exception(guardrail))
    assert code == 0, output
    code, output = _validate(tmp_path, role, _exception(guardrail, expires=PAST))
    assert code == 1, output
    [error] = _errors(output)
    assert f": {path}: " in error and f"its exception expired on {PAST}" in error


def test_an_exception_for_another_guardrail_accepts_nothing(tmp_path: Path) -> None:
    role = _role("service-role/AmazonECSTaskExecutionRolePolicy", "AdministratorAccess")
    code, output = _validate(tmp_path, role, _exception("inline-star"))
    assert code == 1 and "guardrail: admin-managed-policy" in output, output


def test_what_plumb_itself_grants_and_the_stacks_own_account_pass(tmp_path: Path) -> None:
    own = (
        "{Effect: Allow, Principal: {AWS: [arn:aws:iam::123456789012:root, "
        '{join: ["arn:aws:iam::", {ref: "aws:account", attr: id}, ":root"]}], '
        "Service: [ecs-tasks.amazonaws.com]}, Action: sts:AssumeRole}"
    )
    task = TASK.replace("TASK_ROLE", "arn:aws:iam::123456789012:role/plumb/acme-prod-extra")
    code, output = _validate(tmp_path, _role(trust=own), task=task)
    assert code == 0 and "valid: 1 stack" in output, output


@pytest.mark.parametrize(
    "task_role",
    [
        "arn:aws:iam::123456789012:role/plumb/some-admin",
        "arn:aws:iam::999999999999:role/plumb/acme-prod-extra",
        "arn:aws:iam::123456789012:user/acme-prod-extra",
    ],
    ids=["another role", "another account's role", "not a role"],
)
def test_a_task_runs_as_a_role_of_its_own_stack(tmp_path: Path, task_role: str) -> None:
    task = TASK.replace("TASK_ROLE", task_role)
    code, output = _validate(tmp_path, _role(), task=task)
    assert code == 1, output
    [error] = _errors(output)
    assert f"/role.yaml:{_line(ROLE + task, 'taskRoleArn')}:" in error
    assert ": spec.taskRoleArn: acme-prod/extra/task: taskRoleArn is not a role of stack" in error
    code, output = _validate(
        tmp_path, _role(), _exception("role-outside-stack", "extra/task"), task=task
    )
    assert code == 0, output


def test_the_allow_list_is_extended_in_the_stacks_policy(tmp_path: Path) -> None:
    role = _role("service-role/AmazonECSTaskExecutionRolePolicy", "AmazonS3ReadOnlyAccess")
    policy = "  allowManagedPolicies: [AmazonS3ReadOnlyAccess]\n"
    assert _validate(tmp_path, role, policy)[0] == 0
    code, output = _validate(tmp_path, role, "  allowManagedPolicies: [AdministratorAccess]\n")
    assert code == 1
    assert "policy.allowManagedPolicies[0]: must name an AWS managed policy" in output


@pytest.mark.parametrize(
    ("entry", "path", "message"),
    [
        (
            _exception("trust-anyon"),
            "policy.exceptions[0].guardrail",
            "unknown guardrail 'trust-anyon' (did you mean 'trust-anyone'?)",
        ),
        (
            _exception("trust-anyone", "extra/rol"),
            "policy.exceptions[0].resource",
            "no resource 'extra/rol' in stack acme-prod (did you mean 'extra/role'?)",
        ),
        (
            _exception("trust-anyone").replace(FUTURE, "soon"),
            "policy.exceptions[0].expires",
            "must be a date as YYYY-MM-DD",
        ),
    ],
    ids=["unknown guardrail", "unknown resource", "no date"],
)
def test_an_exception_must_name_a_guardrail_and_a_resource(
    tmp_path: Path, entry: str, path: str, message: str
) -> None:
    code, output = _validate(tmp_path, _role(), entry)
    assert code == 1, output
    [error] = _errors(output)
    assert f": {path}: {message}" in error, error


def test_findings_for_a_saved_plans_resources() -> None:
    role = Resource(
        "Role",
        "acme-prod/extra/role",
        {
            "roleName": "r",
            "assumeRolePolicy": {"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}}},
            "managedPolicyArns": ["arn:aws:iam::aws:policy/PowerUserAccess"],
        },
        "us-east-1",
    )
    today = dt.date(2026, 12, 7)
    accepted = GuardrailException("trust-anyone", "extra/role", "why", "me", today)
    found = guardrail_findings([role], {"acme-prod": StackPolicy(exceptions=(accepted,))}, today)
    assert found == [
        Finding(
            "acme-prod/extra/role",
            ("managedPolicyArns", 0),
            "admin-managed-policy",
            found[0].message,
        )
    ]
    later = today + dt.timedelta(days=1)
    found = guardrail_findings([role], {"acme-prod": StackPolicy(exceptions=(accepted,))}, later)
    assert [f.path for f in found] == [
        ("assumeRolePolicy", "Statement", "Principal", "AWS"),
        ("managedPolicyArns", 0),
    ]


def test_an_expired_exception_that_accepts_nothing_is_only_a_warning(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, _role(), _exception("inline-star", expires=PAST))
    assert code == 0, output
    assert (
        "warning: exception on acme-prod extra/role for inline-star (owner: sec@acme) expired on "
        f"{PAST}: it accepts nothing any more, remove it"
    ) in output
