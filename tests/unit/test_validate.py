"""Validation layers: envelope, JSON Schema with defaults, across documents, after expansion.

Each bad spec is the valid base (specs_cases/environment.yaml) with one thing changed, and
each test checks the file, line, path and message the user would see.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.errors import SpecError, SpecIssue
from controller.kinds import registry
from controller.kinds.document import Document
from controller.kinds.schemas import document_validator
from controller.model import Resource
from controller.specs import validate as validation
from controller.specs.load import load_documents
from controller.specs.validate import load_and_validate, validate
from reconcilers.environment.view import ACCOUNT_ID, join, ref
from tests.unit import base_spec
from tests.unit.base_spec import BASE, line_of

ROOT = Path(__file__).resolve().parents[2]


def spec(old: str = "", new: str = "") -> str:
    """The base with the one snippet `old` replaced by `new`."""
    return base_spec.spec((old, new)) if old else BASE


def issues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **files: str) -> list[SpecIssue]:
    """Write files into specs/ and validate them: the issues of the SpecError raised."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir(exist_ok=True)
    for name, text in files.items():
        (tmp_path / "specs" / f"{name}.yaml").write_text(text)
    with pytest.raises(SpecError) as caught:
        load_and_validate("specs")
    return caught.value.issues


def where(issue: SpecIssue) -> tuple[str, int, str]:
    return issue.file, issue.line, issue.path


# -- the examples and defaults --------------------------------------------------------


def test_example_specs_validate_cleanly() -> None:
    docs = load_and_validate(ROOT / "specs")
    assert sorted(d.stack for d in docs) == ["acme-prod", "acme-staging"]


def test_base_of_these_tests_validates_cleanly(tmp_path: Path) -> None:
    (tmp_path / "env.yaml").write_text(BASE)
    assert [d.stack for d in load_and_validate(tmp_path)] == ["acme-prod"]


def test_schema_defaults_are_filled_into_present_sections_only(tmp_path: Path) -> None:
    text = textwrap.dedent("""
        apiVersion: plumb/v1
        kind: Environment
        metadata: {product: acme, env: dev, region: us-east-1}
        spec:
          redis: {}
          storage: {}
          network:
            cidr: 10.0.0.0/16
            availabilityZones: [us-east-1a]
            publicSubnets: [10.0.0.0/24]
            privateSubnets: [10.0.1.0/24]
        """)
    (tmp_path / "dev.yaml").write_text(text)
    [doc] = load_and_validate(tmp_path)
    spec = doc.body["spec"]
    assert spec["redis"] == {
        "nodeType": "cache.t3.micro",
        "engineVersion": "7.1",
        "snapshotRetentionDays": 0,
        "transitEncryption": True,
        "deletionPolicy": "Retain",
    }
    assert spec["storage"] == {"expireAfterDays": 90, "deletionPolicy": "Retain"}
    assert spec["network"]["natGateways"] == 1
    assert set(spec) == {"redis", "storage", "network"}, "absent sections stay absent"
    assert doc.policy == {"prune": False, "selfHeal": True, "maxDeletes": 3, "ignoreDrift": []}
    assert doc.metadata["tags"] == {}


def test_values_given_are_kept_over_defaults_and_input_is_not_changed() -> None:
    [raw] = load_documents(ROOT / "specs" / "acme-staging.yaml")
    [doc] = validate([raw])
    assert doc.body["spec"]["storage"] == {"expireAfterDays": 30, "deletionPolicy": "Delete"}
    assert "deletionPolicy" not in raw.body["spec"]["redis"]
    assert doc.body["spec"]["redis"]["deletionPolicy"] == "Retain"
    assert doc.marks is raw.marks


# -- envelope -------------------------------------------------------------------------


def test_document_without_kind_is_an_error_listing_known_kinds(tmp_path, monkeypatch) -> None:
    text = spec("kind: Environment\n")
    [issue] = issues(tmp_path, monkeypatch, env=text)
    assert where(issue) == ("specs/env.yaml", 2, "")
    assert issue.message.startswith("missing kind")
    assert "Environment" in issue.message


def test_unknown_kind_is_an_error_suggesting_the_closest(tmp_path, monkeypatch) -> None:
    text = spec("kind: Environment", "kind: Enviroment")
    [issue] = issues(tmp_path, monkeypatch, env=text)
    assert where(issue) == ("specs/env.yaml", 3, "kind")
    assert issue.message.startswith("unknown kind 'Enviroment' (did you mean 'Environment'?)")
    assert "known kinds: " in issue.message


def test_wrong_api_version_is_one_clear_error(tmp_path, monkeypatch) -> None:
    text = spec("apiVersion: plumb/v1", "apiVersion: plumb/v2")
    [issue] = issues(tmp_path, monkeypatch, env=text)
    assert where(issue) == ("specs/env.yaml", 2, "apiVersion")
    assert issue.message == 'unsupported apiVersion "plumb/v2"; use plumb/v1'


# -- JSON Schema ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        pytest.param(
            "desiredCount: 2",
            "desiredCount: two",
            "desiredCount",
            "spec.service.desiredCount",
            "expected integer, got string",
            id="wrong type",
        ),
        pytest.param(
            'engineVersion: "7.1"',
            "engineVersion: 7.1",
            "engineVersion: 7.1",
            "spec.redis.engineVersion",
            "expected string, got number (quote the value to keep it as text)",
            id="unquoted version",
        ),
        pytest.param(
            "{NODE_ENV: production}",
            "{NODE_ENV: production, DEBUG: yes}",
            "DEBUG",
            "spec.service.environment.DEBUG",
            "expected string, got boolean (YAML reads yes, no, on, off, true and false "
            "as booleans: quote the value)",
            id="yes is a boolean",
        ),
        pytest.param(
            "    natGateways: 1",
            "    natGateways: 1\n    natGateway: 2",
            "natGateway: 2",
            "spec.network.natGateway",
            "unknown field 'natGateway' (did you mean 'natGateways'?)",
            id="unknown field",
        ),
        pytest.param(
            "  storage:",
            "  storag:",
            "storag:",
            "spec.storag",
            "unknown field 'storag' (did you mean 'storage'?)",
            id="unknown section",
        ),
        pytest.param(
            "product: acme",
            "product: Acme",
            "product:",
            "metadata.product",
            "must be lowercase letters, digits and hyphens, 2-20 characters, starting "
            "with a letter",
            id="product pattern",
        ),
        pytest.param(
            "env: prod",
            "env: production-environment-one",
            "env:",
            "metadata.env",
            "must be lowercase letters, digits and hyphens, 2-20 characters, starting "
            "with a letter",
            id="env too long",
        ),
        pytest.param(
            "expireAfterDays: 90",
            "expireAfterDays: 0",
            "expireAfterDays",
            "spec.storage.expireAfterDays",
            "must be at least 1",
            id="expire at 0 days",
        ),
        pytest.param(
            "expireAfterDays: 90",
            "expireAfterDays: -5",
            "expireAfterDays",
            "spec.storage.expireAfterDays",
            "must be at least 1",
            id="negative expiry",
        ),
        pytest.param(
            "logRetentionDays: 30",
            "logRetentionDays: 31",
            "logRetentionDays",
            "spec.service.logRetentionDays",
            None,
            id="retention CloudWatch refuses",
        ),
        pytest.param(
            ', tag: "1.4.2"}',
            "}",
            "image:",
            "spec.service.image",
            "missing required field 'tag'",
            id="missing required field",
        ),
        pytest.param(
            'tags: {CostCenter: "4711"}',
            "tags: {CostCenter: 4711}",
            "tags:",
            "metadata.tags.CostCenter",
            "expected string, got integer (quote the value to keep it as text)",
            id="tag value not a string",
        ),
        pytest.param(
            "  prune: false",
            "  ignoreDrift:\n    - {resource: app/service}",
            "resource: app/service",
            "policy.ignoreDrift[0]",
            None,
            id="waiver missing fields",
        ),
    ],
)
def test_schema_error_names_file_line_path_and_a_readable_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    old: str,
    new: str,
    needle: str,
    path: str,
    message: str | None,
) -> None:
    text = spec(old, new)
    found = issues(tmp_path, monkeypatch, env=text)
    assert found[0].file == "specs/env.yaml"
    assert {i.path for i in found} == {path}
    assert found[0].line == line_of(text, needle)
    if message is not None:
        assert [i.message for i in found] == [message]


def test_unknown_enum_value_lists_the_allowed_ones(tmp_path, monkeypatch) -> None:
    text = spec(
        "  storage:\n    expireAfterDays: 90",
        "  storage:\n    expireAfterDays: 90\n    deletionPolicy: retain",
    )
    [issue] = issues(tmp_path, monkeypatch, env=text)
    assert (issue.path, issue.message) == (
        "spec.storage.deletionPolicy",
        'must be "Retain" or "Delete"',
    )


def test_reserved_tag_key_points_at_the_key(tmp_path, monkeypatch) -> None:
    text = spec('tags: {CostCenter: "4711"}', 'tags: {CostCenter: "4711", "plumb:id": x}')
    [issue] = issues(tmp_path, monkeypatch, env=text)
    assert issue.path == "metadata.tags.plumb:id"
    assert issue.message.startswith("'plumb:id' is not a usable tag key")


def test_waiver_expiry_must_be_a_date_but_an_expired_one_is_fine(tmp_path, monkeypatch) -> None:
    waiver = (
        "  prune: false\n  ignoreDrift:\n    - {resource: storage/bucket, field: tags, "
        "reason: r, owner: o, expires: EXPIRES}"
    )
    past = spec("  prune: false", waiver.replace("EXPIRES", "2020-01-31"))
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "env.yaml").write_text(past)
    assert load_and_validate(tmp_path / "ok")
    bad = spec("  prune: false", waiver.replace("EXPIRES", "2027-02-31"))
    [issue] = issues(tmp_path, monkeypatch, env=bad)
    assert (issue.path, issue.message) == (
        "policy.ignoreDrift[0].expires",
        "must be a date as YYYY-MM-DD",
    )


def test_semantic_checks_still_run_when_the_schema_fails(tmp_path, monkeypatch) -> None:
    """A typo must not hide a secret given by value or a bad NAT count: all errors at once."""
    text = spec("natGateways: 1", "natGateways: 7").replace("storage:", "storag:")
    found = issues(tmp_path, monkeypatch, env=text)
    assert [i.path for i in found] == ["spec.network.natGateways", "spec.storag"]


# -- across documents -----------------------------------------------------------------


def test_same_product_and_env_in_two_files_is_an_error_on_both(tmp_path, monkeypatch) -> None:
    found = issues(tmp_path, monkeypatch, a=BASE, b=BASE)
    meta = line_of(BASE, "metadata:")
    assert [where(i) for i in found] == [
        ("specs/a.yaml", meta, "metadata"),
        ("specs/b.yaml", meta, "metadata"),
    ]
    assert found[0].message == "stack acme-prod is also defined at specs/b.yaml:2:1"
    assert found[1].message == "stack acme-prod is also defined at specs/a.yaml:2:1"


def test_empty_specs_folder_is_an_error(tmp_path, monkeypatch) -> None:
    [issue] = issues(tmp_path, monkeypatch)
    assert (issue.file, issue.message) == ("specs", "no spec files found in specs")


def test_files_with_only_empty_documents_are_an_error(tmp_path, monkeypatch) -> None:
    [issue] = issues(tmp_path, monkeypatch, empty="# nothing yet\n---\n")
    assert issue.message == "no spec documents found in specs"


def test_no_documents_at_all_is_an_error() -> None:
    with pytest.raises(SpecError, match="no spec documents found"):
        validate([])


def test_every_issue_of_every_file_and_layer_is_raised_at_once(tmp_path, monkeypatch) -> None:
    found = issues(
        tmp_path,
        monkeypatch,
        broken="kind: [Environment\n",
        schema=spec("desiredCount: 2", "desiredCount: two").replace("env: prod", "env: qa"),
        semantic=spec("natGateways: 1", "natGateways: 3").replace("env: prod", "env: dev"),
        twin1=BASE,
        twin2=BASE,
    )
    assert [(i.file, i.path) for i in found] == [
        ("specs/broken.yaml", ""),
        ("specs/schema.yaml", "spec.service.desiredCount"),
        ("specs/semantic.yaml", "spec.network.natGateways"),
        ("specs/twin1.yaml", "metadata"),
        ("specs/twin2.yaml", "metadata"),
    ]


# -- after expansion, with a fake composition and a fake directly written kind ---------

FAKE_STACK = """
apiVersion: plumb/v1
kind: FakeStack
metadata: {product: demo, env: test, region: us-east-1}
spec:
  network: {cidr: 10.0.0.0/16}
  app: {image: demo}
policy:
  ignoreDrift:
    - {resource: network/vpc, field: cidr, reason: r, owner: o, expires: 2030-01-01}
    - {resource: network/vcp, field: cidr, reason: r, owner: o, expires: 2030-01-01}
"""
FAKE_THING = """
apiVersion: plumb/v1
kind: FakeThing
metadata: {product: demo, env: test, region: us-east-1, name: extra/thing}
spec:
  size: 1
  vpc: {ref: network/vpc, attr: id}
  peer: {ref: network/nope, attr: id}
"""


class FakeThing:
    """A registered kind with no schema, standing in for one written directly in a spec."""

    kind = "FakeThing"


def fake_expand(doc: Document) -> list[Resource]:
    src = doc.loc(("spec", "app"))
    return [
        Resource(
            "FakeVpc",
            f"{doc.stack}/network/vpc",
            {"cidr": "10.0.0.0/16"},
            "us-east-1",
            source=doc.loc(("spec", "network")),
        ),
        Resource(
            "FakeApp",
            f"{doc.stack}/app/service",
            {
                "vpcId": ref("network/vpc"),
                "role": join("arn:aws:iam::", ACCOUNT_ID, ":role/", ref("identity/role", "name")),
                "subnets": [ref("network/subnet-a")],
            },
            "us-east-1",
            source=src,
        ),
    ]


@pytest.fixture
def fakes() -> Iterator[None]:
    registry.load_all()
    registry.EXPANDERS["FakeStack"] = fake_expand
    registry.REGISTRY["FakeThing"] = FakeThing  # type: ignore[assignment]
    yield
    del registry.EXPANDERS["FakeStack"], registry.REGISTRY["FakeThing"]
    document_validator.cache_clear()


def test_references_must_name_a_resource_of_the_stack(tmp_path, monkeypatch, fakes) -> None:
    found = issues(tmp_path, monkeypatch, stack=FAKE_STACK, thing=FAKE_THING)
    refs = [i for i in found if "refers to" in i.message]
    assert [where(i) for i in refs] == [
        ("specs/stack.yaml", line_of(FAKE_STACK, "app:"), "spec.app"),
        ("specs/stack.yaml", line_of(FAKE_STACK, "app:"), "spec.app"),
        ("specs/thing.yaml", line_of(FAKE_THING, "peer:"), "spec.peer"),
    ]
    assert {i.message for i in refs} == {
        "demo-test/app/service refers to 'identity/role', which is not a resource of stack "
        "demo-test",
        "demo-test/app/service refers to 'network/subnet-a', which is not a resource of stack "
        "demo-test",
        "demo-test/extra/thing refers to 'network/nope', which is not a resource of stack "
        "demo-test (did you mean 'network/vpc'?)",
    }


def test_waiver_must_name_a_resource_of_the_expansion(tmp_path, monkeypatch, fakes) -> None:
    found = issues(tmp_path, monkeypatch, stack=FAKE_STACK)
    [waiver] = [i for i in found if i.path.startswith("policy")]
    assert where(waiver) == (
        "specs/stack.yaml",
        line_of(FAKE_STACK, "network/vcp"),
        "policy.ignoreDrift[1].resource",
    )
    assert waiver.message == (
        "no resource 'network/vcp' in stack demo-test (did you mean 'network/vpc'?)"
    )


def test_directly_written_kind_cannot_take_an_expanded_resource_id(
    tmp_path, monkeypatch, fakes
) -> None:
    clash = FAKE_THING.replace("extra/thing", "network/vpc").replace("network/nope", "app/service")
    found = issues(
        tmp_path, monkeypatch, stack=FAKE_STACK.replace("network/vcp", "network/vpc"), thing=clash
    )
    [issue] = [i for i in found if i.file == "specs/thing.yaml"]
    assert issue.path == "metadata.name"
    assert issue.message == "demo-test/network/vpc is already defined at specs/stack.yaml:6:3"


def test_directly_written_kind_is_checked_against_the_envelope(
    tmp_path, monkeypatch, fakes
) -> None:
    text = FAKE_THING.replace("name: extra/thing", "nam: extra/thing")
    found = issues(tmp_path, monkeypatch, thing=text)
    assert {(i.path, i.message) for i in found} == {
        ("metadata", "missing required field 'name'"),
        ("metadata.nam", "unknown field 'nam' (did you mean 'name'?)"),
    }


def test_registered_kind_written_directly_is_checked_against_its_own_schema(
    tmp_path, monkeypatch
) -> None:
    text = textwrap.dedent("""
        apiVersion: plumb/v1
        kind: Bucket
        metadata: {product: acme, env: prod, region: us-east-1, name: extra/logs}
        spec:
          bucketName: acme-prod-logs
          versioned: true
        """).lstrip()
    [issue] = issues(tmp_path, monkeypatch, logs=text)
    assert where(issue) == ("specs/logs.yaml", 6, "spec.versioned")
    assert issue.message.startswith("unknown field 'versioned'")


def test_a_failing_check_is_reported_not_raised(tmp_path, monkeypatch, fakes) -> None:
    def broken(doc: Document) -> list[tuple[tuple[str, ...], str]]:
        raise KeyError("sk-proj-abcdEFGH1234ijklMNOP5678")

    monkeypatch.setitem(registry.CHECKS, "FakeThing", broken)
    found = issues(tmp_path, monkeypatch, thing=FAKE_THING)
    assert [i.message for i in found] == ["internal error in the FakeThing checks: KeyError"]


def test_references_are_found_inside_joins_and_lists() -> None:
    spec_value = {"a": [{"b": ref("x/y")}], "c": join("arn:", ACCOUNT_ID, ref("p/q", "arn"))}
    assert list(validation.references(spec_value)) == [
        (("a", 0, "b"), "x/y"),
        (("c", "join", 1), "aws:account"),
        (("c", "join", 2), "p/q"),
    ]


# -- one wrong value, one error --------------------------------------------------------


def test_a_string_where_a_list_belongs_is_one_error(tmp_path, monkeypatch) -> None:
    text = spec("allowedCidrs: [0.0.0.0/0]", "allowedCidrs: 0.0.0.0/0")
    [issue] = issues(tmp_path, monkeypatch, env=text)
    assert (issue.path, issue.message) == (
        "spec.loadBalancer.allowedCidrs",
        "expected array, got string",
    )


def test_a_document_with_only_a_kind_names_each_missing_field_once(tmp_path, monkeypatch) -> None:
    found = issues(tmp_path, monkeypatch, env="kind: Environment\n")
    assert [i.message for i in found] == [
        "missing apiVersion: write apiVersion: plumb/v1",
        "missing required field 'metadata'",
        "missing required field 'spec'",
    ]


def test_a_yaml_boolean_env_is_one_error_not_a_bucket_name_too(tmp_path, monkeypatch) -> None:
    [issue] = issues(tmp_path, monkeypatch, env=spec("env: prod", "env: on"))
    assert issue.path == "metadata.env" and "quote the value" in issue.message


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        # 20 digits: the most a number may have (a longer one is refused before the schema)
        ("expireAfterDays: 90", "expireAfterDays: 10000000000000000000", "expireAfterDays"),
        ("  prune: false", "  prune: false\n  maxDeletes: 1000000", "maxDeletes"),
    ],
)
def test_numbers_have_the_bounds_aws_has(tmp_path, monkeypatch, old, new, path) -> None:
    [issue] = issues(tmp_path, monkeypatch, env=spec(old, new))
    assert issue.path.endswith(path) and issue.message.startswith("must be at most")


# -- credentials anywhere --------------------------------------------------------------

KEY_ID = "AKIA" + "Z7QW3XKJ5N2R4T6Y"  # an access key id's shape; split so no scanner trips
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
PEM = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow..."


@pytest.mark.parametrize(
    ("old", "new", "path", "what"),
    [
        (
            'tags: {CostCenter: "4711"}',
            f"tags: {{Owner: {KEY_ID}}}",
            "metadata.tags.Owner",
            "an AWS access key id",
        ),
        (
            "healthCheckPath: /health",
            f"healthCheckPath: /health?token={GITHUB}",
            "spec.loadBalancer.healthCheckPath",
            "a GitHub token",
        ),
        (
            'tags: {CostCenter: "4711"}',
            f"tags: {{CostCenter: {PEM!r}}}",
            "metadata.tags.CostCenter",
            "a private key block",
        ),
    ],
    ids=["tag", "health-check-path", "private-key"],
)
def test_a_credential_anywhere_is_refused_without_echoing_it(
    tmp_path, monkeypatch, old, new, path, what
) -> None:
    found = issues(tmp_path, monkeypatch, env=spec(old, new))
    [issue] = [i for i in found if i.path == path]
    assert f"looks like {what}" in issue.message
    secret = {KEY_ID, GITHUB, "MIIEow"}
    assert not any(s in str(i) for i in found for s in secret), "never echoed"


def test_a_commit_hash_as_image_tag_is_not_a_credential(tmp_path, monkeypatch) -> None:
    (tmp_path / "ok").mkdir()
    sha = "3f2a9c0d1e4b5a6978877665544332211aabbccd"
    text = spec('tag: "1.4.2"', f'tag: "{sha}"') if 'tag: "1.4.2"' in BASE else BASE
    (tmp_path / "ok" / "env.yaml").write_text(text)
    assert load_and_validate(tmp_path / "ok")


# -- names two stacks claim ------------------------------------------------------------


def test_a_secret_and_a_repository_two_stacks_claim_are_refused_naming_both(
    tmp_path, monkeypatch
) -> None:
    staging = spec("env: prod", "env: staging").replace("10.20.", "10.30.")
    found = issues(tmp_path, monkeypatch, a=BASE, b=staging)
    claims = [i for i in found if "is also claimed by" in i.message]
    by_file = {(i.file, i.path.rsplit(".", 1)[-1]) for i in claims}
    assert by_file == {
        ("specs/a.yaml", "repository"),
        ("specs/b.yaml", "repository"),
        ("specs/a.yaml", "AZURE_OPENAI_API_KEY"),
        ("specs/b.yaml", "AZURE_OPENAI_API_KEY"),
    }, found
    [repo_a] = [i for i in claims if i.file == "specs/a.yaml" and i.path.endswith("repository")]
    assert "acme-staging/app/repository at specs/b.yaml:" in repo_a.message
    assert repo_a.line == line_of(BASE, "repository: acme-app")
