"""The Environment's semantic checks, each bad input through load_and_validate.

Each case is the valid base (specs_cases/environment.yaml) with one thing changed; the test
asserts the file, line, path and message a user would see.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.errors import SpecError, SpecIssue
from controller.specs.validate import load_and_validate
from reconcilers.environment.checks import (  # importing it registers the checks
    SECRET_VALUE,
    looks_like_credential,
)
from reconcilers.environment.name_checks import bucket_name_problem
from tests.unit.base_spec import BASE, line_of, spec

NOT_INSIDE = "is not inside the VPC's 10.20.0.0/16 (spec.network.cidr)"
PER_AZ = "give one per AZ, in the order of availabilityZones"


def problems(tmp_path: Path, text: str) -> list[SpecIssue]:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "acme-prod.yaml").write_text(text)
    with pytest.raises(SpecError) as caught:
        load_and_validate(folder)
    assert all(i.file == f"{folder}/acme-prod.yaml" for i in caught.value.issues)
    return caught.value.issues


def only(tmp_path: Path, text: str) -> SpecIssue:
    [issue] = problems(tmp_path, text)
    return issue


# -- network ----------------------------------------------------------------------------


def test_subnet_outside_the_vpc_cidr(tmp_path: Path) -> None:
    text = spec(("[10.20.0.0/24, 10.20.1.0/24]", "[10.20.0.0/24, 10.21.1.0/24]"))
    issue = only(tmp_path, text)
    assert (issue.line, issue.column) == (line_of(text, "publicSubnets"), 35)
    assert issue.path == "spec.network.publicSubnets[1]"
    assert issue.message == f"10.21.1.0/24 {NOT_INSIDE}"


def test_vpc_prefix_too_small_for_its_subnets(tmp_path: Path) -> None:
    found = problems(tmp_path, spec(("cidr: 10.20.0.0/16", "cidr: 10.20.0.0/29")))
    assert found[0].message == "a VPC's prefix must be /16 to /28, not /29"
    assert len(found) == 5, "and each of the four subnets is outside it"


def test_subnet_prefix_longer_than_28(tmp_path: Path) -> None:
    issue = only(tmp_path, spec(("10.20.11.0/24]", "10.20.11.0/29]")))
    assert issue.message == "a subnet's prefix must be /16 to /28, not /29"


@pytest.mark.parametrize(
    ("count", "message"),
    [
        pytest.param(2, None, id="one per AZ is fine"),
        pytest.param(0, None, id="none is fine"),
        pytest.param(
            3,
            "must be 0, 1 or 2: none, one shared, or one per availability zone",
            id="three for two AZs",
        ),
    ],
)
def test_nat_gateways_are_none_one_or_one_per_az(
    tmp_path: Path, count: int, message: str | None
) -> None:
    text = spec(("natGateways: 1", f"natGateways: {count}"))
    if message is None:
        (tmp_path / "ok.yaml").write_text(text)
        assert load_and_validate(tmp_path)
        return
    issue = only(tmp_path, text)
    assert (issue.line, issue.path, issue.message) == (
        line_of(text, "natGateways"),
        "spec.network.natGateways",
        message,
    )


def test_sections_in_the_vpc_need_a_network(tmp_path: Path) -> None:
    start, end = BASE.index("  network:"), BASE.index("  loadBalancer:")
    found = problems(tmp_path, BASE[:start] + BASE[end:])
    assert {i.path for i in found} == {
        "spec.loadBalancer",
        "spec.service",
        "spec.documentdb",
        "spec.redis",
    }
    assert found[0].message == (
        "loadBalancer runs in the stack's VPC: it needs a spec.network section"
    )


# -- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("product", "reason"),
    [
        pytest.param("xn--acme", "must not begin with 'xn--' (S3 reserves it)", id="xn--"),
        pytest.param("sthree-app", "must not begin with 'sthree-' (S3 reserves it)", id="sthree-"),
        pytest.param(
            "amzn-s3-demo-app",
            "must not begin with 'amzn-s3-demo-' (S3 reserves it)",
            id="amzn-s3-demo-",
        ),
    ],
)
def test_product_whose_bucket_name_s3_refuses(tmp_path: Path, product: str, reason: str) -> None:
    text = spec(("product: acme", f"product: {product}"))
    found = problems(tmp_path, text)
    assert found[0].line == line_of(text, "product:")
    assert found[0].path == "metadata.product"
    assert found[0].message == (
        f"the S3 bucket name '{product}-prod-storage' (from product and env) {reason}"
    )


def test_double_hyphen_breaks_cache_and_docdb_ids_and_points_at_the_culprit(tmp_path) -> None:
    found = problems(tmp_path, spec(("env: prod", "env: pr--od")))
    assert [(i.path, i.message) for i in found] == [
        (
            "metadata.env",
            "the ElastiCache replication group id name 'acme-pr--od-redis' (from "
            "product and env) must not hold two hyphens in a row",
        ),
        (
            "metadata.env",
            "the DocumentDB cluster id name 'acme-pr--od-docdb' (from product and "
            "env) must not hold two hyphens in a row",
        ),
    ]


def test_stack_too_long_for_load_balancer_names(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        spec(("product: acme", "product: acmecorp-platform"), ("env: prod", "env: performance")),
    )
    assert [(i.path, i.message) for i in found] == [
        (
            "metadata.product",
            "the load balancer name 'acmecorp-platform-performance-alb' (from "
            "product and env) is 33 characters long; at most 32 are allowed",
        ),
        (
            "metadata.product",
            "the target group name 'acmecorp-platform-performance-app' (from "
            "product and env) is 33 characters long; at most 32 are allowed",
        ),
    ]


def test_names_of_sections_left_out_are_not_checked(tmp_path: Path) -> None:
    start, end = BASE.index("  loadBalancer:"), BASE.index("  service:")
    text = BASE[:start] + BASE[end:]
    text = text.replace("product: acme", "product: acmecorp-platform").replace(
        "env: prod", "env: performance"
    )
    (tmp_path / "ok.yaml").write_text(text)
    assert load_and_validate(tmp_path)


def test_load_balancer_name_must_not_begin_with_internal(tmp_path: Path) -> None:
    found = problems(tmp_path, spec(("product: acme", "product: internal")))
    assert [i.message for i in found] == [
        "the load balancer name 'internal-prod-alb' (from product and env) must not begin "
        "with 'internal-'"
    ]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        pytest.param("acme-prod-storage", None, id="plain"),
        pytest.param("ab", "is 2 characters long; S3 allows 3 to 63", id="short"),
        pytest.param("a" * 64, "is 64 characters long; S3 allows 3 to 63", id="long"),
        pytest.param(
            "Acme", "may only hold lowercase letters, digits, dots and hyphens", id="upper case"
        ),
        pytest.param("acme-", "must begin and end with a letter or digit", id="ends with -"),
        pytest.param("acme..prod", "must not hold two adjacent dots", id="two dots"),
        pytest.param("192.168.1.10", "must not look like an IP address", id="ip"),
        pytest.param("acme-s3alias", "must not end with '-s3alias' (S3 reserves it)", id="alias"),
        pytest.param("acme--ol-s3", "must not end with '--ol-s3' (S3 reserves it)", id="ol"),
        pytest.param("acme--x-s3", "must not end with '--x-s3' (S3 reserves it)", id="x-s3"),
        pytest.param(
            "acme--table-s3", "must not end with '--table-s3' (S3 reserves it)", id="table"
        ),
    ],
)
def test_bucket_name_rules(name: str, problem: str | None) -> None:
    assert bucket_name_problem(name) == problem


# -- secrets ----------------------------------------------------------------------------

VALUES = [
    pytest.param("sk-proj-abcdEFGH1234ijklMNOP5678qrst", id="openai key"),
    pytest.param("AKIAIOSFODNN7EXAMPLE", id="aws access key id"),
    pytest.param("0123456789abcdef0123456789abcdef", id="32 hex"),
    pytest.param("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", id="aws secret key"),
    pytest.param("Zq3Xv9TkL2mNp8RwYb4Hc7Df", id="base64 token"),
    pytest.param("-----BEGIN PRIVATE KEY-----", id="pem"),
]


@pytest.mark.parametrize("value", VALUES)
def test_secret_given_by_value_is_refused_without_repeating_it(tmp_path, value: str) -> None:
    text = spec(
        (
            "{AZURE_OPENAI_API_KEY: acme/prod/azure-openai-key}",
            f'{{AZURE_OPENAI_API_KEY: "{value}"}}',
        )
    )
    (tmp_path / "acme-prod.yaml").write_text(text)
    with pytest.raises(SpecError) as caught:
        load_and_validate(tmp_path)
    [issue] = caught.value.issues
    assert (issue.line, issue.path, issue.message) == (
        line_of(text, "secrets:"),
        "spec.service.secrets.AZURE_OPENAI_API_KEY",
        SECRET_VALUE,
    )
    assert value not in str(caught.value)


def test_azure_api_key_given_by_value_is_refused(tmp_path: Path) -> None:
    value = "0123456789abcdef0123456789abcdef"
    text = spec(("apiKeySecret: acme/prod/azure-openai-key", f"apiKeySecret: {value}"))
    issue = only(tmp_path, text)
    assert (issue.line, issue.path, issue.message) == (
        line_of(text, "apiKeySecret"),
        "spec.models.azureOpenAI.apiKeySecret",
        SECRET_VALUE,
    )
    assert value not in str(issue)


def test_secret_name_with_characters_secrets_manager_refuses(tmp_path: Path) -> None:
    text = spec(("apiKeySecret: acme/prod/azure-openai-key", "apiKeySecret: acme prod key!"))
    issue = only(tmp_path, text)
    assert issue.message == (
        "is not a Secrets Manager secret name: 1-512 letters, digits and / _ + = . @ -"
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("DATABASE_URL", "mongodb://app:hunter2@docdb:27017/app", id="url password"),
        pytest.param("JWT_SECRET", "correct-horse-battery", id="named like a secret"),
        pytest.param("STRIPE", "sk_live_0123456789", id="a known key shape"),
    ],
)
def test_credential_in_plain_environment_is_refused(tmp_path, variable: str, value: str) -> None:
    text = spec(("{NODE_ENV: production}", f'{{NODE_ENV: production, {variable}: "{value}"}}'))
    issue = only(tmp_path, text)
    assert (issue.line, issue.path) == (
        line_of(text, "environment:"),
        f"spec.service.environment.{variable}",
    )
    assert issue.message == (
        "looks like a credential; keep it in Secrets Manager and name the "
        "secret in service.secrets instead"
    )
    assert value not in str(issue)


@pytest.mark.parametrize(
    "name",
    [
        "acme/prod/azure-openai-key",
        "AcmeProdAzureOpenAIKey2024",
        "MyTestDatabaseSecret",
        "production/payments/StripeApiKeyV2",
        "rds-db-credentials/cluster-ABCDEFGHIJKLMNOP/admin",
        "platform/ci/GitHubDeployKey2023v1",
        "production",
        "https://acme.example/api",
    ],
)
def test_names_and_plain_values_do_not_look_like_credentials(name: str) -> None:
    assert not looks_like_credential(name)


# -- models -----------------------------------------------------------------------------


def test_bedrock_model_id_that_is_not_a_model_id(tmp_path: Path) -> None:
    text = spec(("- anthropic.claude-3-haiku-20240307-v1:0", "- claude 3 haiku"))
    issue = only(tmp_path, text)
    assert (issue.line, issue.path) == (
        line_of(text, "claude 3 haiku"),
        "spec.models.bedrock.models[0]",
    )
    assert issue.message.startswith(
        "'claude 3 haiku' is not a Bedrock model id: give a "
        "foundation-model id (anthropic.claude-3-haiku"
    )


def test_global_inference_profile_is_callable_from_any_region(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(spec(("- us.anthropic", "- global.anthropic")))
    assert load_and_validate(tmp_path)


# -- load balancer and service ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu", "memory", "allowed"),
    [
        pytest.param(256, 4096, "512 or 1024 or 2048 MiB", id="256 with 4 GiB"),
        pytest.param(1024, 1024, "2048 to 8192 MiB in steps of 1024", id="1 vCPU with 1 GiB"),
    ],
)
def test_fargate_cpu_and_memory_must_fit(tmp_path, cpu: int, memory: int, allowed: str) -> None:
    text = spec(("cpu: 512", f"cpu: {cpu}"), ("memory: 1024", f"memory: {memory}"))
    issue = only(tmp_path, text)
    assert (issue.line, issue.path) == (line_of(text, "memory:"), "spec.service.memory")
    assert issue.message == (
        f"Fargate cannot give {memory} MiB to {cpu} CPU units: with cpu "
        f"{cpu}, memory may be {allowed}"
    )


# -- one bad value, one issue -----------------------------------------------------------

# (old, new): the change to the base; the line holding `needle` (None: the change leaves
# no line to tell it by), the path and the whole message of the one issue it makes.
ONE_ISSUE = [
    pytest.param(
        "[10.20.10.0/24, 10.20.11.0/24]",
        "[10.20.10.0/24, 10.20.1.128/25]",
        "privateSubnets",
        "spec.network.privateSubnets[1]",
        "10.20.1.128/25 overlaps publicSubnets[1] (10.20.1.0/24)",
        id="overlapping subnets name both",
    ),
    pytest.param(
        "[10.20.0.0/24, 10.20.1.0/24]",
        "[10.20.0.0/24]",
        "publicSubnets",
        "spec.network.publicSubnets",
        f"1 subnet(s) for 2 availability zone(s): {PER_AZ}",
        id="subnet count must match the az count",
    ),
    pytest.param(
        "[us-east-1a, us-east-1b]",
        "[us-east-1a, us-west-2b]",
        "availabilityZones",
        "spec.network.availabilityZones[1]",
        "us-west-2b is not an availability zone of us-east-1 "
        "(metadata.region); those are named us-east-1a, us-east-1b, ...",
        id="availability zone outside the region",
    ),
    pytest.param(
        "[us-east-1a, us-east-1b]",
        "[us-east-1a, us-east-1a]",
        "availabilityZones",
        "spec.network.availabilityZones[1]",
        "us-east-1a is listed twice (first at [0])",
        id="availability zone listed twice",
    ),
    pytest.param(
        "cidr: 10.20.0.0/16",
        "cidr: 10.20.0.1/16",
        "cidr:",
        "spec.network.cidr",
        "10.20.0.1/16 is not a network address; did you mean 10.20.0.0/16?",
        id="cidr that is not a network address suggests one",
    ),
    pytest.param(
        "10.20.11.0/24]",
        "10.20.311.0/24]",
        "privateSubnets",
        "spec.network.privateSubnets[1]",
        "10.20.311.0/24 is not a valid IPv4 CIDR block",
        id="cidr with an octet out of range",
    ),
    pytest.param(
        "cidr: 10.20.0.0/16",
        "cidr: 10.16.0.0/12",
        "cidr:",
        "spec.network.cidr",
        "a VPC's prefix must be /16 to /28, not /12",
        id="vpc prefix outside 16 to 28: too big",
    ),
    pytest.param(
        "cidr: 10.20.0.0/16",
        "cidr: 10.0.0.0/8",
        "cidr:",
        "spec.network.cidr",
        "a VPC's prefix must be /16 to /28, not /8",
        id="vpc prefix outside 16 to 28: huge",
    ),
    pytest.param(
        "{NODE_ENV: production}",
        "{NODE_ENV: production, AZURE_OPENAI_API_KEY: x}",
        "secrets:",
        "spec.service.secrets.AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_API_KEY is also set in service.environment; give each variable once",
        id="variable given both plain and as secret",
    ),
    pytest.param(
        "- us.anthropic.claude-3-5-haiku",
        "- eu.anthropic.claude-3-5-haiku",
        "eu.anthropic",
        "spec.models.bedrock.models[1]",
        "inference profile 'eu.anthropic.claude-3-5-haiku-20241022-v1:0' is for the eu "
        "geography (eu-central-1, eu-north-1, eu-west-1, eu-west-3), not us-east-1",
        id="inference profile of another geography",
    ),
    pytest.param(
        "- us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "- anthropic.claude-3-haiku-20240307-v1:0",
        None,
        "spec.models.bedrock.models[1]",
        "'anthropic.claude-3-haiku-20240307-v1:0' is listed twice (first at models[0])",
        id="model listed twice",
    ),
    pytest.param(
        "acm:us-east-1",
        "acm:eu-west-1",
        "certificateArn",
        "spec.loadBalancer.certificateArn",
        "the certificate is in eu-west-1; a load balancer in us-east-1 needs one from us-east-1",
        id="certificate from another region",
    ),
    pytest.param(
        "allowedCidrs: [0.0.0.0/0]",
        "allowedCidrs: [192.0.2.1/24]",
        "allowedCidrs",
        "spec.loadBalancer.allowedCidrs[0]",
        "192.0.2.1/24 is not a network address; did you mean 192.0.2.0/24?",
        id="allowed cidr that is not a network address",
    ),
]


@pytest.mark.parametrize(("old", "new", "needle", "path", "message"), ONE_ISSUE)
def test_one_bad_value_is_one_issue_saying_where_and_what(
    tmp_path: Path, old: str, new: str, needle: str | None, path: str, message: str
) -> None:
    text = spec((old, new))
    issue = only(tmp_path, text)
    assert (issue.path, issue.message) == (path, message)
    if needle is not None:
        assert issue.line == line_of(text, needle)


# -- the whole stack's bad input (issue 7) ---------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "says"),
    [
        pytest.param(
            'tag: "1.4.2"',
            "tag: latest",
            "tag:",
            "spec.service.image.tag",
            "'latest' cannot run here",
            id="image tag latest",
        ),
        pytest.param(
            'engineVersion: "5.0.0"',
            'engineVersion: "5.1.0"',
            "5.1.0",
            "spec.documentdb.engineVersion",
            "'5.1.0' is not one of them",
            id="docdb version",
        ),
        pytest.param(
            'engineVersion: "7.1"',
            'engineVersion: "7.3"',
            "7.3",
            "spec.redis.engineVersion",
            "'7.3' is not one of them",
            id="redis version",
        ),
        pytest.param(
            "instanceClass: db.t3.medium",
            "instanceClass: db.m1.small",
            "instanceClass",
            "spec.documentdb.instanceClass",
            "DocumentDB has no 'm1' family",
            id="docdb class",
        ),
        pytest.param(
            "nodeType: cache.t3.micro",
            "nodeType: cache.x9.micro",
            "nodeType",
            "spec.redis.nodeType",
            "ElastiCache has no 'x9' family",
            id="redis node family",
        ),
    ],
)
def test_values_the_services_refuse(
    tmp_path: Path, old: str, new: str, needle: str, path: str, says: str
) -> None:
    text = spec((old, new))
    issue = only(tmp_path, text)
    assert (issue.line, issue.path) == (line_of(text, needle), path)
    assert says in issue.message


@pytest.mark.parametrize(
    ("old", "new", "needle", "path"),
    [
        pytest.param(
            "nodeType: cache.t3.micro",
            "nodeType: db.t3.medium",
            "nodeType",
            "spec.redis.nodeType",
            id="a DocumentDB class as a Redis node type",
        ),
        pytest.param(
            "instanceClass: db.t3.medium",
            "instanceClass: cache.t3.micro",
            "instanceClass",
            "spec.documentdb.instanceClass",
            id="a cache node type as a DocumentDB class",
        ),
        pytest.param(
            "instances: 1",
            "instances: 0",
            "instances",
            "spec.documentdb.instances",
            id="no DocumentDB instance",
        ),
        pytest.param(
            "instances: 1",
            "instances: 17",
            "instances",
            "spec.documentdb.instances",
            id="over 16 DocumentDB instances",
        ),
        pytest.param(
            "port: 3000", "port: 70000", "port: 70000", "spec.service.port", id="port past 65535"
        ),
        pytest.param("port: 3000", "port: 0", "port: 0", "spec.service.port", id="port 0"),
        pytest.param(
            "logRetentionDays: 30",
            "logRetentionDays: 31",
            "logRetentionDays",
            "spec.service.logRetentionDays",
            id="retention CloudWatch refuses",
        ),
        pytest.param(
            "arn:aws:acm:us-east-1:123456789012:certificate/",
            "arn:aws:iam::123456789012:server-certificate/",
            "certificateArn",
            "spec.loadBalancer.certificateArn",
            id="certificate of another service",
        ),
    ],
)
def test_values_the_schema_refuses_name_file_line_and_field(
    tmp_path: Path, old: str, new: str, needle: str, path: str
) -> None:
    text = spec((old, new))
    issue = only(tmp_path, text)
    assert (issue.line, issue.path) == (line_of(text, needle), path)


def test_a_spec_without_an_image_tag_is_refused(tmp_path: Path) -> None:
    text = spec(('image: {repository: acme-app, tag: "1.4.2"}', "image: {repository: acme-app}"))
    issue = only(tmp_path, text)
    assert issue.path == "spec.service.image" and "tag" in issue.message
