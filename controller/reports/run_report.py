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
from controller.engine.waivers import grouped
from controller.model import SYMBOLS
from controller.reports.changes import change_lines, from_json
from controller.reports.html import html_view
from controller.reports.render import retries_text
from controller.reports.run_markdown import markdown
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
        return markdown(view(run))
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


def _field_lines(change: dict[str, Any]) -> list[str]:
    """Each changed field as the plan shows it; waived drift marked as such."""
    return _lines(change.get("diff")) + [f"waived: {line}" for line in _lines(change.get("waived"))]


def _lines(fields: list[dict[str, Any]] | None) -> list[str]:
    return [line for f in fields or () for line in change_lines(from_json(f))]


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
