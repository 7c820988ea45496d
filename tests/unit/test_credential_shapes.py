"""Credentials in a spec through `plumb validate`: each shape is refused at its place, and
what was found appears nowhere in the output, not in a message nor in a path."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "specs" / "acme-prod.yaml").read_text()
TAGS = 'tags: {CostCenter: "4711", Owner: platform@acme.example}'
SECRET = "Zq8vR2mXyT4wK9pL"  # the part of each credential that must never be shown

# Split so that no scanner of this repository reads these as real credentials.
SHAPES = {
    "slack webhook": ("https://hooks.slack.com/services/T024BE7LD/B01J8AB2CDE/" + SECRET, "Slack"),
    "teams webhook": (
        "https://acme.webhook.office.com/webhookb2/7a1c@9b2d/IncomingWebhook/" + SECRET + "/4e5f",
        "Microsoft Teams",
    ),
    "teams workflow": (
        "https://prod-12.westus.logic.azure.com:443/workflows/5d8e/triggers/manual/paths/"
        "invoke?api-version=2016-06-01&sp=%2Ftriggers&sv=1.0&sig=" + SECRET,
        "Microsoft Teams",
    ),
    "discord webhook": (
        "https://discord.com/api/webhooks/112233445566778899/" + SECRET,
        "Discord webhook",
    ),
    "redis, no user": ("redis://:" + SECRET + "@cache.internal:6379/0", "URL with a password"),
    "slash in password": (
        "postgresql://app:pa/" + SECRET + "@db.internal:5432/app",
        "URL with a password",
    ),
    "?password=": ("https://api.acme.example/v1?password=" + SECRET, "password or token in a"),
    "&password=": ("https://api.acme.example/v1?u=ada&password=" + SECRET, "password or token"),
    "?token=": ("https://api.acme.example/feed?token=" + SECRET, "password or token in a"),
    "&api_key=": ("https://api.acme.example/v1?x=1&api_key=" + SECRET, "password or token in a"),
    "connection string": ("Server=db;Database=app;Pwd=" + SECRET, "password or token in a"),
    "detect-secrets": (
        "SG." + SECRET + "abcdef" + ".AbCdEfGhIjKlMnOpQrStUvWxYz0123456789" + SECRET[:7],
        "by detect-secrets",
    ),
}


def validate(tmp_path: Path, text: str) -> tuple[int, str]:
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    (folder / "env.yaml").write_text(text)
    result = CliRunner().invoke(
        main, ["--state", f"sqlite:///{tmp_path}/s.db", "validate", str(folder)]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result)
    return result.exit_code, result.output


def with_tags(tags: str) -> str:
    assert TAGS in EXAMPLE
    return EXAMPLE.replace(TAGS, f"tags: {tags}")


@pytest.mark.parametrize("name", list(SHAPES), ids=list(SHAPES))
def test_a_credential_as_a_value_is_refused_without_a_trace_of_it(
    tmp_path: Path, name: str
) -> None:
    value, what = SHAPES[name]
    code, output = validate(tmp_path, with_tags(f"{{CostCenter: '4711', Owner: '{value}'}}"))
    assert code == 1, output
    [line] = [line for line in output.splitlines() if line.startswith("error:")]
    assert "metadata.tags.Owner: holds what looks like" in line and what in line, line
    assert SECRET not in output and SECRET[:8] not in output


@pytest.mark.parametrize("name", ["slack webhook", "discord webhook"])
def test_a_credential_as_a_key_is_refused_and_masked_in_the_path(tmp_path: Path, name: str) -> None:
    value, what = SHAPES[name]
    key_id = "AKIA" + "Z7QW3XKJ5N2R4T6Y"
    code, output = validate(
        tmp_path, with_tags(f"{{CostCenter: '4711', '{value}': x, {key_id}: y}}")
    )
    assert code == 1, output
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 2, output
    assert all("metadata.tags.<key that looks like a credential>: holds" in x for x in lines)
    assert what in lines[0] and "an AWS access key id" in lines[1]
    assert SECRET not in output and key_id not in output and key_id[4:] not in output


def test_a_credential_key_given_twice_is_masked_in_the_duplicate_message(tmp_path: Path) -> None:
    value, _ = SHAPES["slack webhook"]
    code, output = validate(tmp_path, with_tags(f"{{'{value}': a, '{value}': b}}"))
    assert code == 1 and "duplicate key <key that looks like a credential>" in output, output
    assert SECRET not in output


def test_ordinary_values_raise_no_false_alarm_beside_one_credential(tmp_path: Path) -> None:
    ordinary = {
        "Commit": "3f2a9c0d1e4b5a6978877665544332211aabbccd",
        "Digest": "sha256:" + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "Role": "arn:aws:iam::123456789012:role/acme-prod-task",
        "Queue": "arn:aws:sqs:us-east-1:123456789012:acme-prod-orders-dead-letter-queue-01",
        "Topic": "arn:aws:sns:us-east-1:123456789012:acme-prod-notifications-for-everyone",
        "Cidr": "203.0.113.0/24",
        "Host": "app.acme.example.com",
        "Model": "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-app:1.4.2",
        "Secret": "acme/prod/db-password",
        "SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/prod/db-AbCdEf",
        "Action": "secretsmanager:GetSecretValue",
        "Region": "APACSOUTHEAST",
        "Port": "https://registry.acme.example:8443/v2/app@sha256:abc",
        "Leak": "redis://:" + SECRET + "@cache.internal:6379",
    }
    tags = ", ".join(f"{k}: '{v}'" for k, v in ordinary.items())
    code, output = validate(tmp_path, with_tags(f"{{{tags}}}"))
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert code == 1 and len(lines) == 1, output
    assert "metadata.tags.Leak: holds what looks like a URL with a password" in lines[0]
