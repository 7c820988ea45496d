"""What the auditor's HTML pages show, worked out before the templates see it.

An auditor reads a page for what happened: changes, failures and drift come first, and the
resources nothing happened to are folded into a count. The outcome is marked with an inline
SVG and words, not an emoji, which shows as an empty box where no emoji font is installed.
A refused commit's errors (`FILE:LINE:COL: FIELD: message`, controller/errors.py's
SpecIssue) are split back into their parts so the page can list them as a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

CHANGING = ("create", "update", "replace", "delete")
HELD = ("blocked", "unknown")
# Which mark an outcome gets: a check, a cross, a warning or a plain dot.
MARKS = {
    "succeeded": "ok",
    "no-changes": "ok",
    "in-sync": "ok",
    "failed": "bad",
    "rejected": "bad",
    "interrupted": "bad",
    "partial": "warn",
    "progressing": "warn",
    "drifted": "warn",
}
_ISSUE = re.compile(
    r"^(?P<file>[^\s:][^:]*?):(?P<line>\d+):(?P<column>\d+): "
    r"(?:(?P<field>[^\s:]+): )?(?P<message>.*)$",
    re.S,
)
_FILE_ONLY = re.compile(r"^(?P<file>[^\s:]+\.(?:ya?ml|json)): (?P<message>.*)$", re.S)
# "stack/.../name: message": an error of one resource (a failure, a skipped dependent).
_RESOURCE = re.compile(r"^(?P<resource>[\w.-]+/[\w./-]+): (?P<message>.*)$", re.S)
# What a change's outcome means for the counts: made (or planned, in a plan), not made.
DONE = ("applied", "planned", "pending")


def mark(outcome: str) -> str:
    return MARKS.get(outcome, "info")


def run_file(run_id: int | None) -> str:
    """The name a run's HTML report is written under (files.py), so pages beside it can link."""
    return f"run-{run_id:06d}.html" if run_id is not None else ""


def error_rows(errors: Iterable[object]) -> list[dict[str, str]]:
    """Each error as file, line, column, field and message (a spec's), or as resource and
    message (a run's); any other text is the message alone."""
    rows = []
    for error in errors:
        text = str(error)
        found = _ISSUE.match(text) or _FILE_ONLY.match(text) or _RESOURCE.match(text)
        parts = found.groupdict() if found else {"message": text}
        keys = ("file", "line", "column", "field", "resource", "message")
        rows.append({k: str(parts.get(k) or "") for k in keys})
    return rows


def tally(changes: list[dict[str, Any]], run: dict[str, Any]) -> dict[str, int]:
    """The counts a page shows at its top: changes made (or planned, in a plan), failed,
    and skipped (a dependency failed, or the run stopped) apart."""
    return {
        "changes": sum(1 for c in changes if c["action"] in CHANGING and c["outcome"] in DONE),
        "failed": sum(1 for c in changes if c["outcome"] == "failed"),
        "skipped": sum(1 for c in changes if c["action"] != "noop" and c["outcome"] == "skipped"),
        "held": sum(1 for c in changes if c["action"] in HELD),
        "drift": int((run.get("drift") or {}).get("count", 0)),
        "unchanged": sum(1 for c in changes if c["action"] == "noop"),
        "errors": len(run.get("errors") or []),
        "warnings": len(run.get("warnings") or []),
    }


def rank(change: dict[str, Any]) -> int:
    """Failures first, then what destroys, then what was held back, then the rest."""
    if change["outcome"] == "failed":
        return 0
    if change["action"] in ("delete", "replace"):
        return 1
    if change["action"] in HELD:
        return 2
    return 3


def html_view(
    v: dict[str, Any], before: int | None = None, after: int | None = None
) -> dict[str, Any]:
    """report.view()'s dict with what the HTML page adds: each stack's acting resources
    first (ranked) and its unchanged ones apart, the drift marked, the errors as rows, the
    counts, and the chain's neighbours as file names."""
    run = v["run"]
    drifted = {
        (d["stack"], d["logicalId"]): d for d in (run.get("drift") or {}).get("resources") or []
    }
    stacks = []
    for name, changes in v["stacks"]:
        acting = [
            {**c, "drift": drifted.get((c["stack"], c["logicalId"]))}
            for c in changes
            if c["action"] != "noop"
        ]
        acting.sort(key=rank)  # stable: the plan's order within a rank
        unchanged = [
            {**c, "drift": drifted.get((c["stack"], c["logicalId"]))}
            for c in changes
            if c["action"] == "noop"
        ]
        stacks.append({"name": name, "acting": acting, "unchanged": unchanged})
    stacks.sort(key=lambda s: not s["acting"])  # stacks where something happened first
    return {
        **v,
        "mark": mark(run.get("outcome", "")),
        "blocks": stacks,
        "failures": [c for s in stacks for c in s["acting"] if c["outcome"] == "failed"],
        "tally": tally(run.get("changes") or [], run),
        "error_rows": error_rows(run.get("errors") or []),
        "before": run_file(before),
        "before_id": before,
        "after": run_file(after),
        "after_id": after,
    }
