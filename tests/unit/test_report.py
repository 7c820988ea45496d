"""Reports: JSON for machines, Markdown for pull requests, HTML for auditors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from controller.model import UNKNOWN, Action, ActionType, FieldChange
from controller.reports.run_report import FORMATS, render
from controller.state.store import Store

MESSAGE = "Scale up </pre><script>alert('x')</script>\n\nbody `code` | pipe"
SECRET = "hunter2-do-not-leak"
CALLS = {
    "total": 9,
    "reads": 6,
    "writes": 3,
    "retries": 1,
    "byOperation": {"ec2:DescribeVpcs": 4, "ec2:ModifyVpcAttribute": 3, "s3:ListBuckets": 2},
}


def _actions() -> list[tuple[Action, str, str]]:
    return [
        (
            Action(
                ActionType.UPDATE,
                "Vpc",
                "acme-prod/network/vpc",
                physical_id="vpc-1",
                changes=(FieldChange("enableDnsHostnames", False, True),),
            ),
            "applied",
            "",
        ),
        (
            Action(
                ActionType.CREATE,
                "Subnet",
                "acme-prod/network/public-a",
                changes=(FieldChange("vpcId", None, UNKNOWN),),
            ),
            "applied",
            "",
        ),
        (
            Action(
                ActionType.UPDATE,
                "CacheReplicationGroup",
                "acme-prod/cache/redis",
                changes=(FieldChange("authToken", SECRET, SECRET + "2", sensitive=True),),
            ),
            "failed",
            "InvalidParameterValue: <b>bad</b> token",
        ),
        (
            Action(
                ActionType.BLOCKED,
                "Bucket",
                "acme-prod/storage/bucket",
                changes=(FieldChange("name", "a", "b", immutable=True),),
                reason="replace refused: name is immutable; rerun with --allow-replace",
            ),
            "refused",
            "",
        ),
        (
            Action(
                ActionType.UPDATE,
                "EcsService",
                "acme-prod/app/service",
                waived=(FieldChange("desiredCount", 2, 5),),
            ),
            "skipped",
            "",
        ),
        (Action(ActionType.NOOP, "LogGroup", "acme-prod/app/logs"), "skipped", ""),
        (
            Action(
                ActionType.UPDATE,
                "Secret",
                "acme-staging/app/key",
                changes=(FieldChange("secretString", SECRET, "x"),),
            ),
            "applied",
            "",
        ),
    ]


@pytest.fixture
def run(tmp_path: Path) -> dict[str, Any]:
    store = Store(f"sqlite:///{tmp_path}/state.db")
    commit = {
        "sha": "0123456789abcdef0123",
        "author": "Mallory <m@evil.example>",
        "message": MESSAGE,
        "signature": "good (ED25519 ops@acme)",
    }
    run_id = store.runs.begin(
        "sync",
        "plumb sync --repo git@x",
        ["acme-prod", "acme-staging"],
        commit,
        "git@github.com:acme/infra.git",
    )
    for action, outcome, error in _actions():
        store.runs.record_change(run_id, action, outcome, error=error)
    store.chain.seal(
        run_id,
        "partial",
        api_calls=CALLS,
        timings={"observe": 0.5},
        errors=["1 resource failed"],
        warnings=["waiver for desiredCount expires soon"],
    )
    out = store.runs.get(run_id)
    store.close()
    return out


def _outside_code(markdown: str) -> str:
    """The Markdown with fenced blocks and code spans taken out: what would render as markup."""
    without_fences = re.sub(r"(?ms)^ *(`{3,})[^\n]*\n.*?^ *\1 *$", "", markdown)
    return re.sub(r"(`+)(.+?)\1", "", without_fences)


@pytest.mark.parametrize("fmt", FORMATS)
def test_report_never_shows_a_secret(run: dict[str, Any], fmt: str) -> None:
    assert SECRET not in render(run, fmt)


def test_report_scrubs_a_run_dict_that_did_not_come_from_the_store(run: dict[str, Any]) -> None:
    raw = json.loads(json.dumps(run))
    raw["changes"][0]["diff"] = [
        {"path": "masterPassword", "before": "", "after": SECRET, "immutable": False}
    ]
    for fmt in FORMATS:
        assert SECRET not in render(raw, fmt)


def test_json_report_is_the_run_with_sorted_keys(run: dict[str, Any]) -> None:
    out = render(run, "json")
    assert json.loads(out) == run
    assert out == render(json.loads(out), "json")  # stable
    keys = list(json.loads(out))
    assert keys == sorted(keys)


def test_markdown_heads_with_outcome_and_commit(run: dict[str, Any]) -> None:
    md = render(run, "markdown")
    assert md.startswith(f"## ⚠️ plumb run {run['id']}: partial")
    assert "`0123456789ab`" in md and "0123456789abcdef0123" not in md
    assert "Mallory <m@evil.example>" in md and "good (ED25519 ops@acme)" in md
    assert "`sync`" in md and "UTC" in md
    assert "body" not in md  # only the subject line of the message


def test_markdown_lists_actions_per_stack_with_symbols(run: dict[str, Any]) -> None:
    md = render(run, "markdown")
    assert md.index("### `acme-prod`") < md.index("### `acme-staging`")
    assert "| `~` | `acme-prod/network/vpc` | `Vpc` | update | applied |" in md
    assert "| `+` | `acme-prod/network/public-a` | `Subnet` | create |" in md
    assert "replace refused" in md
    assert "1 resource(s) unchanged." in md
    assert "acme-prod/app/logs" not in md  # unchanged rows are counted, not listed


def test_markdown_shows_each_field_before_and_after(run: dict[str, Any]) -> None:
    md = render(run, "markdown")
    assert "    enableDnsHostnames: false → true" in md
    assert "    + vpcId: (known after apply)" in md
    assert "    authToken: (sensitive) → (sensitive)" in md
    assert "    waived: desiredCount: 2 → 5" in md
    assert "```diff" in md


def test_markdown_reports_failures_warnings_calls_and_hash(run: dict[str, Any]) -> None:
    md = render(run, "markdown")
    failures = md[md.index("### Failures") :]
    assert "`acme-prod/cache/redis`" in failures and "InvalidParameterValue" in failures
    assert "1 resource failed" in failures
    assert "waiver for desiredCount expires soon" in md
    assert "**9** calls: 6 reads, 3 writes, 1 retries" in md
    assert md.index("`ec2:DescribeVpcs` 4") < md.index("`ec2:ModifyVpcAttribute` 3")
    assert f"Run hash `{run['hash']}`" in md


def test_markdown_keeps_untrusted_text_inert(run: dict[str, Any]) -> None:
    md = render(run, "markdown")
    markup = _outside_code(md)
    assert "<script>" not in markup and "<b>" not in markup
    assert "<script>" in md  # shown, but inside a code span


def test_markdown_leaves_option_names_and_plain_words_alone(run: dict[str, Any]) -> None:
    md = render(run, "markdown")
    assert "rerun with --allow-replace" in md
    assert "\\-" not in md and "\\." not in md and "\\:" not in md


def test_html_escapes_a_malicious_commit_message(run: dict[str, Any]) -> None:
    html = render(run, "html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "</pre><script>" not in html and "<b>bad</b>" not in html


def test_html_is_self_contained(run: dict[str, Any]) -> None:
    html = render(run, "html")
    assert "<style>" in html and "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=|@import|url\(|<script""", html)
    # The only links are to the pages of its neighbours in the chain, beside it.
    linked = render(run, "html", (3, 5))
    assert re.findall(r"(?:src|href)\s*=\s*\"([^\"]*)\"", linked) == [
        "run-000003.html",
        "run-000005.html",
    ]


def test_html_marks_the_outcome_without_an_emoji(run: dict[str, Any]) -> None:
    html = render(run, "html")
    assert '<svg class="mark"' in html
    assert not re.search("[\U0001f300-\U0001faff\u2600-\u27bf]", html), "no emoji"


def test_html_carries_content_and_chain_position(run: dict[str, Any]) -> None:
    html = render(run, "html")
    for expected in (
        run["prevHash"],
        run["hash"],
        "0123456789abcdef0123",
        "acme-prod/network/vpc",
        "(known after apply)",
        "(sensitive)",
        "ec2:DescribeVpcs",
        "waiver for desiredCount expires soon",
        "InvalidParameterValue",
        "replace refused",
        "waived: desiredCount",
        "(forces replacement)",
    ):
        assert expected in html, expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_rejected_commit_without_changes_still_reports(tmp_path: Path, fmt: str) -> None:
    store = Store(f"sqlite:///{tmp_path}/state.db")
    run_id = store.runs.begin("sync", "plumb sync", ["acme-prod"], {"sha": "abc"}, "git")
    store.chain.seal(run_id, "rejected", errors=["specs/acme-prod.yaml:3:5: spec.x: bad"])
    out = render(store.runs.get(run_id), fmt)
    store.close()
    assert "rejected" in out and "specs/acme-prod.yaml:3:5" in out


def test_unknown_format_is_refused(run: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="format"):
        render(run, "pdf")
