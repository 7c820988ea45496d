"""A hostile commit through the real `sync` and `run`: refused quickly in a short output,
recorded once as a rejected run whose errors are bounded, and nothing written to AWS."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from controller.state.store import Store
from tests.e2e.conftest import ROOT, Cli, git_repo

EXAMPLE = (ROOT / "specs" / "acme-prod.yaml").read_text()
UNKNOWN_FIELDS = 300


def _hostile_specs(workdir: Path) -> Path:
    specs = workdir / "hostile"
    specs.mkdir()
    extra = "".join(f"  field{i:03d}: 1\n" for i in range(UNKNOWN_FIELDS))
    (specs / "zz-acme-prod.yaml").write_text(EXAMPLE.replace("spec:\n", "spec:\n" + extra, 1))
    (specs / "many.yaml").write_text("---\na: 1\n" * 100_000)
    (specs / "deep.yaml").write_text("a: " + "[" * 500 + "]" * 500 + "\n")
    (specs / "nul.yaml").write_text("a: b\x00c\n")
    (specs / "digits.yaml").write_text("a: " + "9" * 5000 + "\n")
    return specs


def _timed(cli: Cli, *args: str) -> str:
    started = time.monotonic()
    done = cli(*args, check=1, timeout=60)
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    assert elapsed < 10, f"plumb {args[0]} took {elapsed:.1f} s"
    assert "Traceback" not in output and len(output.splitlines()) <= 100, output[-3000:]
    return output


def _rejected(cli: Cli) -> list[dict[str, Any]]:
    store = Store(cli.env["PLUMB_STATE"])
    try:
        runs = [store.runs.get(r["id"]) for r in store.runs.recent(limit=100)]
    finally:
        store.close()
    return [r for r in runs if r["outcome"] == "rejected"]


def test_a_hostile_commit_is_one_bounded_rejected_run_and_nothing_in_aws(
    cli: Cli, aws: Any, workdir: Path
) -> None:
    repo = git_repo(workdir / "git", _hostile_specs(workdir))
    found = 4 + UNKNOWN_FIELDS  # a line for each hostile file, one per unknown field
    out = _timed(cli, "sync", "--repo", str(repo))
    assert "refused" in out and f"… and {found - 50:,} more errors" in out
    hostile = ("more than 100 documents", "nested more than 32", "control character", "digits")
    for says in hostile:  # their files sort before the one of many errors
        assert says in out
    out = _timed(cli, "run", "--once", "--repo", str(repo), "--log-format", "text")
    assert "was refused in run" in out

    (run,) = _rejected(cli)
    assert len(run["errors"]) == 51 and run["errors"][-1].startswith(f"… and {found - 50:,}")
    state = Path(cli.env["PLUMB_STATE"].removeprefix("sqlite:///"))
    assert state.stat().st_size < 1_000_000
    reports = [p for p in (state.parent / "reports").rglob("*") if p.is_file()]
    assert reports and all(p.stat().st_size < 200_000 for p in reports), reports
    assert aws.s3.list_buckets()["Buckets"] == []
    tagged = [{"Name": "tag-key", "Values": ["plumb:stack"]}]
    assert aws.ec2.describe_vpcs(Filters=tagged)["Vpcs"] == []
