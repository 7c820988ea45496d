"""A run's report in Markdown, for a pull-request comment: what `view()` (run_report.py)
worked out, with everything from git or AWS in code spans and fences sized to the text."""

from __future__ import annotations

from typing import Any

from controller.engine.waivers import EXPIRED, SOON
from controller.model import SYMBOLS
from controller.reports.markdown import code, escape, fence

TOP_OPERATIONS = 5


def markdown(v: dict[str, Any]) -> str:
    run = v["run"]
    parts = [
        f"## {v['icon']} plumb run {run.get('id')}: {escape(run.get('outcome', ''))}",
        _md_header(v),
        _md_counts(run.get("counts") or {}),
    ]
    parts += [_md_stack(name, changes) for name, changes in v["stacks"]]
    parts.append(_md_exceptions(v["exceptions"]))
    parts += [_md_waivers(v["waivers"]), _md_failures(v["failures"], run.get("errors") or [])]
    parts += [_md_list("Warnings", run.get("warnings") or []), _md_api(v)]
    chain = f"chain position {run.get('seq')}, previous {code(str(run.get('prevHash'))[:12])}"
    parts.append(f"---\nRun hash {code(str(run.get('hash')))} ({chain})")
    return "\n\n".join(p for p in parts if p) + "\n"


def _md_header(v: dict[str, Any]) -> str:
    run, commit = v["run"], v["run"].get("commit") or {}
    subject = (commit.get("message") or "").strip().splitlines()[:1]
    rows = [
        ("Commit", code(commit.get("sha", "")[:12], table=True)),
        ("Author", code(commit.get("author", ""), table=True)),
        ("Message", code(subject[0] if subject else "", table=True)),
        ("Signature", code(commit.get("signature", ""), table=True)),
        ("Trigger", code(run.get("trigger", ""), table=True)),
        ("Command", code(run.get("command", ""), table=True)),
        ("Started", f"{v['started']} ({v['duration']})"),
        ("Stacks", ", ".join(code(s, table=True) for s in run.get("stacks", []))),
        *((k, code(val, table=True)) for k, val in v["acted"]),
    ]
    if v["drift"] is not None:
        found = ", ".join(code(n, table=True) for n in v["drift"]["names"])
        rows.append(
            ("Drift", f"{v['drift']['count']} resource(s)" + (f": {found}" if found else ""))
        )
    lines = ["| | |", "|---|---|"] + [f"| {k} | {val or '—'} |" for k, val in rows]
    return "\n".join(lines)


def _md_counts(counts: dict[str, int]) -> str:
    shown = [f"{counts.get(k, 0)} to {k}" for k in ("create", "update", "replace", "delete")]
    rest = [f"{counts[k]} {k}" for k in ("noop", "orphan", "blocked", "unknown", "failed")]
    legend = ", ".join(f"`{sym}` {action}" for action, sym in SYMBOLS.items())
    summary = ", ".join(shown + [r for r in rest if not r.startswith("0 ")])
    return f"**Actions:** {summary}\n\n<sub>{legend}</sub>"


def _md_stack(name: str, changes: list[dict[str, Any]]) -> str:
    acting = [c for c in changes if c["action"] != "noop"]
    blocks = [f"### {code(name)}"]
    if acting:
        rows = ["| | Resource | Kind | Action | Outcome | Note |", "|---|---|---|---|---|---|"]
        rows += [
            f"| `{c['symbol']}` | {code(c['logicalId'], table=True)} | "
            f"{code(c['kind'], table=True)} | {c['action']} | {escape(c['outcome'])} | "
            f"{escape(c['reason'] or c['error'])} |"
            for c in acting
        ]
        blocks.append("\n".join(rows))
    unchanged = len(changes) - len(acting)
    if unchanged:
        blocks.append(f"{unchanged} resource(s) unchanged.")
    diff = "\n".join(line for c in acting for line in _diff_lines(c))
    if diff:
        blocks.append(fence(diff, "diff"))
    return "\n\n".join(blocks)


def _diff_lines(change: dict[str, Any]) -> list[str]:
    if not change["lines"]:
        return []
    head = f"{change['symbol']} {change['logicalId']} ({change['kind']})"
    return [head, *(f"    {line}" for line in change["lines"])]


def _md_waivers(waivers: list[dict[str, Any]]) -> str:
    if not waivers:
        return ""
    soon = sum(1 for w in waivers if w["status"] == SOON)
    lines = ["### Waivers"]
    if soon:
        lines.append(f"**{soon} expiring within 14 days**, listed first.\n")
    for w in waivers:
        lines.append(_entry(w, "field", w["field"]))
        if w["lines"]:
            held = "drift found, no longer waived" if w["status"] == EXPIRED else "covered drift"
            lines.append(f"  {held} in this run:")
            lines.append(fence("\n".join(w["lines"]), "text", indent="  "))
        elif w["status"] != EXPIRED:
            lines.append("  no drift on this field in this run.")
    return "\n".join(lines)


def _md_exceptions(exceptions: list[dict[str, Any]]) -> str:
    """The grants a guardrail refuses that the stacks' policies accept, and until when."""
    if not exceptions:
        return ""
    lines = ["### Guardrail exceptions"]
    for e in exceptions:
        lines.append(_entry(e, "guardrail", e["guardrail"]))
    return "\n".join(lines)


def _md_failures(failures: list[dict[str, Any]], errors: list[str]) -> str:
    if not failures and not errors:
        return ""
    lines = ["### Failures"]
    for c in failures:
        lines.append(f"- {code(c['logicalId'])} ({code(c['kind'])}), {c['action']} failed:")
        lines.append(fence(c["error"] or "(no error message)", "text", indent="  "))
    lines += [fence(str(e), "text") for e in errors]
    return "\n".join(lines)


def _md_list(title: str, items: list[str]) -> str:
    if not items:
        return ""
    return "\n".join([f"### {title}"] + [f"- {escape(str(i))}" for i in items])


def _md_api(v: dict[str, Any]) -> str:
    api = v["api"]
    if not api:
        return ""
    line = (
        f"### AWS API calls\n**{api.get('total', 0)}** calls: {api.get('reads', 0)} reads, "
        f"{api.get('writes', 0)} writes, {api.get('retries', 0)} retries"
        + (f" ({escape(v['retries_by_service'])})." if v["retries_by_service"] else ".")
    )
    top = v["operations"][:TOP_OPERATIONS]
    if top:
        line += " Top: " + ", ".join(f"{code(op)} {n}" for op, n in top)
    return line


def _entry(entry: dict[str, Any], what: str, name: str) -> str:
    """A waiver or a guardrail exception: where, on what, whose, why and until when."""
    return (
        f"- {_flag(entry['status'])}{code(entry['stack'])} {code(entry['resource'])} {what} "
        f"{code(name)}: owner {code(entry['owner']) or '—'}, reason "
        f"{code(entry['reason']) or '—'}; "
        f"{entry['note']}"  # plumb's words and an ISO date: nothing to escape
    )


def _flag(status: str) -> str:
    """A waiver's or an exception's end drawing near, or past."""
    if status == EXPIRED:
        return "⌛ **expired** "
    return "⏳ **expires soon** " if status == SOON else ""
