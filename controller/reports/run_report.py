"""Run reports: JSON for machines, Markdown for a pull-request comment, HTML for auditors.

`render(run, fmt)` takes the dict `store.runs.get()` returns. The JSON report is that dict with
sorted keys, so its hash can be recomputed from the report alone (see controller/audit/verify.py).
Everything in a run that came from git or AWS (commit message, author, ids, errors, values)
is untrusted: Markdown puts it in code spans and fences sized to the text, and the HTML
template autoescapes. Diff values are scrubbed again here, as the state does, so a run dict
from anywhere never shows a secret.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from controller.chain import canonical
from controller.engine.waivers import EXPIRED, SOON, grouped
from controller.model import SYMBOLS
from controller.reports.changes import change_lines, from_json
from controller.reports.html import html_view
from controller.reports.markdown import code as _code
from controller.reports.markdown import escape as _escape
from controller.reports.markdown import fence as _fence
from controller.reports.render import retries_text
from controller.specs import guardrails
from controller.state.models import COUNT_KEYS
from controller.state.scrub import scrub_change

FORMATS = ("json", "markdown", "html")
ICONS = {
    "succeeded": "✅",
    "no-changes": "✅",
    "planned": "📝",
    "declined": "✋",
    "in-sync": "✅",
    "drifted": "🔀",
    "interrupted": "💥",
    "progressing": "⏳",
    "partial": "⚠️",
    "failed": "❌",
    "rejected": "⛔",
}
TOP_OPERATIONS = 5

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,  # commit messages and AWS values are untrusted
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(
    run: dict[str, Any], fmt: str, neighbours: tuple[int | None, int | None] = (None, None)
) -> str:
    """`run` in `fmt`; `neighbours` are the ids of the runs before and after it in the
    chain, which the HTML page links to (their pages are beside it)."""
    if fmt == "json":
        return json.dumps(_scrubbed(run), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return _markdown(view(run))
    if fmt == "html":
        template = TEMPLATES.get_template("report.html.j2")
        page = html_view(view(run), *neighbours)
        return template.render(v=page, canonical=_pretty_canonical(run))
    raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")


def view(run: dict[str, Any]) -> dict[str, Any]:
    """What both human formats show, worked out once."""
    run = _scrubbed(run)
    changes = run.get("changes", [])
    by_stack: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for change in changes:
        by_stack[change["stack"]].append(
            {**change, "symbol": SYMBOLS.get(change["action"], "?"), "lines": _field_lines(change)}
        )
    order = [s for s in run.get("stacks", []) if s in by_stack]
    order += sorted(set(by_stack) - set(order))
    api = run.get("apiCalls") or {}
    counts = run.get("counts") or {}
    operations = sorted((api.get("byOperation") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "run": run,
        "icon": ICONS.get(run.get("outcome", ""), "•"),
        "stacks": [(name, by_stack[name]) for name in order],
        "failures": [c for c in changes if c["outcome"] == "failed"],
        "counts": [(k, counts.get(k, 0)) for k in COUNT_KEYS]
        + sorted((k, n) for k, n in counts.items() if k not in COUNT_KEYS),
        "api": api,
        "retries_by_service": retries_text(api),
        "operations": operations,
        "waivers": [
            {**w, "lines": _lines(w.get("drift"))} for w in grouped(run.get("waivers") or ())
        ],
        "exceptions": guardrails.grouped(run.get("exceptions") or ()),
        "started": _when(run.get("startedAt")),
        "duration": _duration(run.get("startedAt"), run.get("finishedAt")),
        "acted": _acted(run.get("actor") or {}),
        "drift": _drift(run.get("drift")),
    }


def _acted(actor: dict[str, Any]) -> list[tuple[str, str]]:
    """Who acted, as header rows: the AWS identity, the person, the specs' worktree, the
    webhook deliveries that asked for the cycle."""
    rows = []
    if actor.get("arn") or actor.get("account"):
        rows.append(("AWS identity", f"{actor.get('arn', '')} (account {actor.get('account')})"))
    if actor.get("user") or actor.get("host"):
        rows.append(("Run by", "@".join(x for x in (actor.get("user"), actor.get("host")) if x)))
    tree = actor.get("worktree") or {}
    if tree:
        state = "with uncommitted changes" if tree.get("dirty") else "clean"
        rows.append(("Specs worktree", f"{str(tree.get('sha', ''))[:12]} ({state})"))
    if actor.get("deliveries"):
        rows.append(("Webhook deliveries", ", ".join(map(str, actor["deliveries"]))))
    return rows


def _drift(drift: dict[str, Any] | None) -> dict[str, Any] | None:
    """The drift found, as one header line: how many resources, and which."""
    if not drift:
        return None
    found = drift.get("resources") or []
    names = [f"{d['logicalId']} ({', '.join(d['fields'] + d['waived'])})" for d in found]
    return {"count": drift.get("count", len(found)), "names": names}


# -- Markdown -------------------------------------------------------------------------------


def _markdown(v: dict[str, Any]) -> str:
    run = v["run"]
    parts = [
        f"## {v['icon']} plumb run {run.get('id')}: {_escape(run.get('outcome', ''))}",
        _md_header(v),
        _md_counts(run.get("counts") or {}),
    ]
    parts += [_md_stack(name, changes) for name, changes in v["stacks"]]
    parts.append(_md_exceptions(v["exceptions"]))
    parts += [_md_waivers(v["waivers"]), _md_failures(v["failures"], run.get("errors") or [])]
    parts += [_md_list("Warnings", run.get("warnings") or []), _md_api(v)]
    chain = f"chain position {run.get('seq')}, previous {_code(str(run.get('prevHash'))[:12])}"
    parts.append(f"---\nRun hash {_code(str(run.get('hash')))} ({chain})")
    return "\n\n".join(p for p in parts if p) + "\n"


def _md_header(v: dict[str, Any]) -> str:
    run, commit = v["run"], v["run"].get("commit") or {}
    subject = (commit.get("message") or "").strip().splitlines()[:1]
    rows = [
        ("Commit", _code(commit.get("sha", "")[:12], table=True)),
        ("Author", _code(commit.get("author", ""), table=True)),
        ("Message", _code(subject[0] if subject else "", table=True)),
        ("Signature", _code(commit.get("signature", ""), table=True)),
        ("Trigger", _code(run.get("trigger", ""), table=True)),
        ("Command", _code(run.get("command", ""), table=True)),
        ("Started", f"{v['started']} ({v['duration']})"),
        ("Stacks", ", ".join(_code(s, table=True) for s in run.get("stacks", []))),
        *((k, _code(val, table=True)) for k, val in v["acted"]),
    ]
    if v["drift"] is not None:
        found = ", ".join(_code(n, table=True) for n in v["drift"]["names"])
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
    blocks = [f"### {_code(name)}"]
    if acting:
        rows = ["| | Resource | Kind | Action | Outcome | Note |", "|---|---|---|---|---|---|"]
        rows += [
            f"| `{c['symbol']}` | {_code(c['logicalId'], table=True)} | "
            f"{_code(c['kind'], table=True)} | {c['action']} | {_escape(c['outcome'])} | "
            f"{_escape(c['reason'] or c['error'])} |"
            for c in acting
        ]
        blocks.append("\n".join(rows))
    unchanged = len(changes) - len(acting)
    if unchanged:
        blocks.append(f"{unchanged} resource(s) unchanged.")
    diff = "\n".join(line for c in acting for line in _diff_lines(c))
    if diff:
        blocks.append(_fence(diff, "diff"))
    return "\n\n".join(blocks)


def _field_lines(change: dict[str, Any]) -> list[str]:
    """Each changed field as the plan shows it; waived drift marked as such."""
    return _lines(change.get("diff")) + [f"waived: {line}" for line in _lines(change.get("waived"))]


def _lines(fields: list[dict[str, Any]] | None) -> list[str]:
    return [line for f in fields or () for line in change_lines(from_json(f))]


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
        flag = "⏳ **expires soon** " if w["status"] == SOON else ""
        flag = "⌛ **expired** " if w["status"] == EXPIRED else flag
        lines.append(
            f"- {flag}{_code(w['stack'])} {_code(w['resource'])} field {_code(w['field'])}: "
            f"owner {_code(w['owner']) or '—'}, reason {_code(w['reason']) or '—'}; "
            f"{w['note']}"  # plumb's words and an ISO date: nothing to escape
        )
        if w["lines"]:
            held = "drift found, no longer waived" if w["status"] == EXPIRED else "covered drift"
            lines.append(f"  {held} in this run:")
            lines.append(_fence("\n".join(w["lines"]), "text", indent="  "))
        elif w["status"] != EXPIRED:
            lines.append("  no drift on this field in this run.")
    return "\n".join(lines)


def _md_exceptions(exceptions: list[dict[str, Any]]) -> str:
    """The grants a guardrail refuses that the stacks' policies accept, and until when."""
    if not exceptions:
        return ""
    lines = ["### Guardrail exceptions"]
    for e in exceptions:
        flag = "⏳ **expires soon** " if e["status"] == SOON else ""
        flag = "⌛ **expired** " if e["status"] == EXPIRED else flag
        lines.append(
            f"- {flag}{_code(e['stack'])} {_code(e['resource'])} guardrail "
            f"{_code(e['guardrail'])}: owner {_code(e['owner']) or '—'}, reason "
            f"{_code(e['reason']) or '—'}; {e['note']}"
        )
    return "\n".join(lines)


def _md_failures(failures: list[dict[str, Any]], errors: list[str]) -> str:
    if not failures and not errors:
        return ""
    lines = ["### Failures"]
    for c in failures:
        lines.append(f"- {_code(c['logicalId'])} ({_code(c['kind'])}), {c['action']} failed:")
        lines.append(_fence(c["error"] or "(no error message)", "text", indent="  "))
    lines += [_fence(str(e), "text") for e in errors]
    return "\n".join(lines)


def _md_list(title: str, items: list[str]) -> str:
    if not items:
        return ""
    return "\n".join([f"### {title}"] + [f"- {_escape(str(i))}" for i in items])


def _md_api(v: dict[str, Any]) -> str:
    api = v["api"]
    if not api:
        return ""
    line = (
        f"### AWS API calls\n**{api.get('total', 0)}** calls: {api.get('reads', 0)} reads, "
        f"{api.get('writes', 0)} writes, {api.get('retries', 0)} retries"
        + (f" ({_escape(v['retries_by_service'])})." if v["retries_by_service"] else ".")
    )
    top = v["operations"][:TOP_OPERATIONS]
    if top:
        line += " Top: " + ", ".join(f"{_code(op)} {n}" for op, n in top)
    return line


# -- shared helpers ----------------------------------------------------------------------


def _scrubbed(run: dict[str, Any]) -> dict[str, Any]:
    out = dict(run)
    if "changes" in run:
        out["changes"] = [
            {
                **c,
                "diff": [scrub_change(f) for f in c.get("diff", [])],
                "waived": [scrub_change(f) for f in c.get("waived", [])],
            }
            for c in run["changes"]
        ]
    if "waivers" in run:
        out["waivers"] = [
            {**w, "drift": [scrub_change(f) for f in w.get("drift", [])]} for w in run["waivers"]
        ]
    return out


def _pretty_canonical(run: dict[str, Any]) -> str:
    """The hashed body, pretty-printed; `canonical()` of it is what the hash covers."""
    return json.dumps(
        json.loads(canonical(_scrubbed(run))), indent=2, sort_keys=True, ensure_ascii=False
    )


def _when(stamp: str | None) -> str:
    if not stamp:
        return "—"
    return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(start: str | None, end: str | None) -> str:
    if not start or not end:
        return "running"
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


TEMPLATES.filters.update(when=_when)
