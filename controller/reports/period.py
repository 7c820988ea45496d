"""One report for a period, as an auditor asks for it: every run begun in it (id, time,
trigger, commit, stacks, outcome, changes), the changes they made, the drift they found, the
commits refused, and the result of the chain check.

The chain is checked whole, not only the period's runs: a run's link covers every run
before it, so a period cannot be verified on its own. Text from git or AWS is untrusted, as
in a run's report: the HTML template autoescapes, and Markdown puts it in code spans.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from controller.reports import run_report as report
from controller.reports.html import error_rows, mark, rank, run_file, tally
from controller.reports.markdown import code, escape

if TYPE_CHECKING:
    from controller.audit.verify import AuditResult
    from controller.state.store import Store


def build(
    store: Store,
    since: datetime | None,
    until: datetime | None,
    chain: tuple[AuditResult, list[str], bool] | None = None,
) -> dict[str, Any]:
    """The period's report model; `chain` is audit.check()'s answer, if it was asked."""
    runs = store.periods.runs_between(since, until)
    acting = store.periods.acting_changes([r["id"] for r in runs])
    rows, changes, drift, rejected = [], [], [], []
    for run in runs:
        view = report.view({**run, "changes": acting[run["id"]]})
        counted = tally(view["run"]["changes"], run)
        rows.append(_row(run, counted))
        ranked = sorted((c for _, listed in view["stacks"] for c in listed), key=rank)
        changes += [_change(run, c) for c in ranked]
        drift += [
            {"runId": run["id"], "startedAt": run["startedAt"], **d}
            for d in (run.get("drift") or {}).get("resources") or []
        ]
        if run["outcome"] == "rejected":
            rejected.append(
                {
                    "runId": run["id"],
                    "startedAt": run["startedAt"],
                    "commit": run["commit"],
                    "source": run["source"],
                    "errors": error_rows(run["errors"]),
                }
            )
    return {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "counts": {
            "runs": len(rows),
            "changes": sum(r["changes"] for r in rows),
            "failed": sum(r["failed"] for r in rows),
            "drift": len(drift),
            "rejected": len(rejected),
        },
        "runs": rows,
        "changes": changes,
        "drift": drift,
        "rejected": rejected,
        "chain": _chain(chain),
    }


def _row(run: dict[str, Any], counted: dict[str, int]) -> dict[str, Any]:
    commit = run.get("commit") or {}
    return {
        "id": run["id"],
        "seq": run["seq"],
        "startedAt": run["startedAt"],
        "finishedAt": run["finishedAt"],
        "trigger": run["trigger"],
        "command": run["command"],
        "commit": {"sha": commit.get("sha", ""), "author": commit.get("author", "")},
        "stacks": run["stacks"],
        "outcome": run["outcome"],
        "changes": counted["changes"],
        "failed": counted["failed"],
        "drift": counted["drift"],
        "errors": counted["errors"],
    }


def _change(run: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
    return {
        "runId": run["id"],
        "stack": c["stack"],
        "logicalId": c["logicalId"],
        "kind": c["kind"],
        "action": c["action"],
        "symbol": c["symbol"],
        "outcome": c["outcome"],
        "reason": c["reason"],
        "error": c["error"],
        "lines": c["lines"],
    }


def _chain(chain: tuple[AuditResult, list[str], bool] | None) -> dict[str, Any]:
    if chain is None:
        return {"checked": False}
    result, unreadable, anchored = chain
    problems = [*unreadable, *result.problems]
    return {
        "checked": True,
        "ok": not problems,
        "runsChecked": result.runs_checked,
        "againstAnchor": anchored,
        "problems": problems,
        "notes": result.notes,
    }


def render(model: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return _markdown(model)
    if fmt == "html":
        template = report.TEMPLATES.get_template("period.html.j2")
        return template.render(
            p=model,
            title=title(model),
            chain_text=chain_line(model["chain"]),
            mark=mark,
            run_file=run_file,
        )
    raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(report.FORMATS)}")


def title(model: dict[str, Any]) -> str:
    """The period in words: --until is where it ends, so a run begun then is not in it."""
    since = model["since"][:16].replace("T", " ") + " UTC" if model["since"] else "the first"
    until = model["until"][:16].replace("T", " ") + " UTC" if model["until"] else "now"
    return f"plumb runs begun from {since}, before {until}"


def chain_line(chain: dict[str, Any]) -> str:
    if not chain["checked"]:
        return "not checked"
    against = " against the anchor" if chain["againstAnchor"] else ""
    if chain["ok"]:
        notes = " (see the notes)" if chain["notes"] else ""
        return f"{chain['runsChecked']} runs checked{against}: chain intact{notes}"
    return f"{chain['runsChecked']} runs checked{against}: CHAIN BROKEN"


def _markdown(model: dict[str, Any]) -> str:
    n = model["counts"]
    parts = [
        f"## {escape(title(model))}",
        f"**{n['runs']}** runs, **{n['changes']}** changes, **{n['failed']}** failed, "
        f"drift on **{n['drift']}** resource(s), **{n['rejected']}** commit(s) rejected. "
        f"Chain: {escape(chain_line(model['chain']))}.",
    ]
    sections: tuple[tuple[str, str, Callable[[dict[str, Any]], list[str]]], ...] = (
        ("Runs", "runs", _md_runs),
        ("Changes", "changes", _md_changes),
        ("Drift found", "drift", _md_drift),
        ("Rejected commits", "rejected", _md_rejected),
    )
    for heading, key, lines in sections:
        if model[key]:
            parts.append(f"### {heading}\n\n" + "\n".join(lines(model)))
    problems = model["chain"].get("problems") or []
    if problems:
        parts.append("### Chain problems\n\n" + "\n".join(f"- {code(p)}" for p in problems))
    return "\n\n".join(parts) + "\n"


def _md_runs(model: dict[str, Any]) -> list[str]:
    lines = ["| Run | Started | Trigger | Commit | Stacks | Outcome | Changes |"]
    lines.append("|---|---|---|---|---|---|---:|")
    return lines + [
        f"| {r['id']} | {str(r['startedAt'])[:19].replace('T', ' ')} | "
        f"{code(r['trigger'], table=True)} | {code(r['commit']['sha'][:12], table=True)} | "
        f"{', '.join(code(s, table=True) for s in r['stacks'])} | {r['outcome']} | "
        f"{r['changes']} |"
        for r in model["runs"]
    ]


def _md_changes(model: dict[str, Any]) -> list[str]:
    return [
        f"- run {c['runId']}: `{c['symbol']}` {code(c['logicalId'])} ({code(c['kind'])}) "
        f"{c['action']}, {c['outcome']}"
        for c in model["changes"]
    ]


def _md_drift(model: dict[str, Any]) -> list[str]:
    return [
        f"- run {d['runId']}: {code(d['logicalId'])} {code(', '.join(d['fields']))} ({d['action']})"
        for d in model["drift"]
    ]


def _md_rejected(model: dict[str, Any]) -> list[str]:
    lines = []
    for r in model["rejected"]:
        lines.append(f"- run {r['runId']}: commit {code(r['commit'].get('sha', '')[:12])}")
        lines += [
            f"  - {code(':'.join(x for x in (e['file'], e['line']) if x))} "
            f"{code(e['field'])} {code(e['message'])}"
            for e in r["errors"]
        ]
    return lines
