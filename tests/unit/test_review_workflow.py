"""The README's reviewer's workflow is what plumb offers: the GitHub Actions workflow parses
and runs plumb commands that exist with those flags, and the pre-commit config names a hook
that .pre-commit-hooks.yaml defines."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
import yaml

from controller.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SECTION = README[README.index("## Reviewing a change before it merges") :]
SECTION = SECTION[: SECTION.index("\n## ", 1)]
BLOCKS = re.findall(r"```yaml\n(.*?)```", SECTION, flags=re.S)


def _block(containing: str) -> Any:
    (text,) = [b for b in BLOCKS if containing in b]
    return yaml.safe_load(text)


def _plumb_commands(script: str) -> list[list[str]]:
    """Each `plumb ...` in a step's shell script, up to a redirection or a pipe."""
    found = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["plumb"]:
            cut = [i for i, w in enumerate(words) if w in (">", "|", "&&", ";", "2>&1")]
            found.append(words[1 : cut[0] if cut else None])
    return found


def _parses(args: list[str]) -> click.Context:
    """`plumb ARGS` parsed as the CLI would parse it, without running it."""
    name, *rest = args
    command = main.get_command(click.Context(main), name)
    assert command is not None, f"plumb has no command {name}"
    return command.make_context(name, rest, parent=click.Context(main, info_name="plumb"))


def test_the_workflow_parses_and_comments_on_pull_requests() -> None:
    workflow = _block("pull_request")
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as True
    assert workflow["permissions"]["pull-requests"] == "write"
    steps = workflow["jobs"]["plan"]["steps"]
    script = next(s for s in steps if s.get("uses", "").startswith("actions/github-script"))
    assert "<!-- plumb plan -->" in script["with"]["script"]
    assert "updateComment" in script["with"]["script"]


def test_the_plumb_commands_of_the_workflow_exist_with_those_flags() -> None:
    steps = _block("pull_request")["jobs"]["plan"]["steps"]
    commands = [c for s in steps for c in _plumb_commands(s.get("run", ""))]
    assert [c[0] for c in commands] == ["validate", "plan"]
    assert _parses(commands[0]).params["specs"] == ("specs",)
    plan = _parses(commands[1])
    assert plan.params["fmt"] == "markdown" and plan.params["detailed_exitcode"] is True


def test_the_markdown_plan_starts_with_the_marker_the_workflow_looks_for() -> None:
    from controller.reports.plan_markdown import MARKER

    assert MARKER == "<!-- plumb plan -->"


def test_the_pre_commit_config_names_plumbs_hook() -> None:
    config = _block("repos:")
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "plumb-validate" and hook["entry"] == "plumb validate"
    assert [h["id"] for h in config["repos"][0]["hooks"]] == ["plumb-validate"]
    pattern = re.compile(hook["files"])
    assert pattern.search("specs/acme-prod.yaml") and pattern.search("specs/team/x.yml")
    assert not pattern.search(".github/workflows/plumb-plan.yml")
    assert not pattern.search(".pre-commit-config.yaml")


def test_the_modeline_names_the_file_plumb_schema_writes() -> None:
    assert "# yaml-language-server: $schema=../.plumb-schema.json" in SECTION
    assert "plumb schema > .plumb-schema.json" in SECTION
    assert _parses(["schema", "--output", "/dev/null"]).params["kind"] == "environment"
