"""A plan as one pull-request comment: what a reviewer must see first, within GitHub's limit.

The comment holds a summary line, the destructive actions in a callout, a table of the
actions (unchanged resources only counted), and each resource's field changes folded in a
<details>. GitHub refuses a comment over 65,536 characters, so when the whole plan is longer
the diffs of the largest resources are left out first, then table rows from the least
destructive end, and the comment says what it left out. Ids, values and reasons come from
specs and AWS: they go into code spans, fences and escaped HTML (controller/reports/markdown.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.engine.plan import Plan
from controller.model import SYMBOLS, Action, ActionType, Diff, FieldChange
from controller.reports.changes import change_lines, from_json
from controller.reports.markdown import code, escape, fence, html_code
from controller.state.scrub import scrub_change
from controller.words import counted

A = ActionType
COMMENT_LIMIT = 65_536  # characters GitHub accepts in one issue or pull-request comment
_NOTE_ROOM = 400  # kept free for the lines that say what was left out
# The comment's first line, hidden when rendered: a CI job finds its earlier comment by it
# and updates that one instead of adding another on every push.
MARKER = "<!-- plumb plan -->"
_ORDER = {A.DELETE: 0, A.REPLACE: 1, A.BLOCKED: 2, A.UNKNOWN: 3, A.CREATE: 4, A.UPDATE: 5}


@dataclass
class _Parts:
    """The comment's foldable pieces, each as the text it adds; None once left out."""

    callout: list[str | None] = field(default_factory=list)
    rows: list[str | None] = field(default_factory=list)
    diffs: list[str | None] = field(default_factory=list)
    warnings: list[str | None] = field(default_factory=list)

    def size(self) -> int:
        pieces = (*self.callout, *self.rows, *self.diffs, *self.warnings)
        return sum(len(p) + 2 for p in pieces if p is not None)

    def left_out(self, name: str) -> int:
        return sum(1 for p in getattr(self, name) if p is None)


def plan_markdown(
    plan: Plan, calls: Mapping[str, Any] | None = None, limit: int = COMMENT_LIMIT
) -> str:
    shown = sorted(
        (a for a in plan.actions if a.type is not A.NOOP or a.waived),
        key=lambda a: (not destructive(plan, a), _ORDER.get(a.type, 6), a.logical_id),
    )
    callout: list[str | None] = [_callout_item(a) for a in shown if destructive(plan, a)]
    rows: list[str | None] = [_row(a) for a in shown]
    diffs: list[str | None] = [d for d in map(_details, shown) if d]
    warnings: list[str | None] = [f"- ⚠️ {escape(w)}" for w in plan.warnings]
    parts = _Parts(callout, rows, diffs, warnings)
    fixed = len(_compose(plan, calls, shown, _Parts())) + _NOTE_ROOM
    _fold(parts, limit - fixed)
    text = _compose(plan, calls, shown, parts)
    while len(text) > limit and _drop_one(parts):  # the estimate's rare miss
        text = _compose(plan, calls, shown, parts)
    return text


def destructive(plan: Plan, action: Action) -> bool:
    """A delete or replace, or one refused: what a reviewer must not miss."""
    if action.type in (A.DELETE, A.REPLACE):
        return True
    if action.type is not A.BLOCKED:
        return False
    # a refused delete is of a resource no spec asks for; a refused replace changes an
    # immutable field
    return action.logical_id not in plan.resources or Diff(action.changes).needs_replace


def summary_line(plan: Plan, calls: Mapping[str, Any] | None) -> str:
    c = plan.counts()
    # differences found on resources the specs keep, that this plan will not repair
    held = sum(
        1 for a in plan.actions if a.type is A.BLOCKED and a.changes and not destructive(plan, a)
    )
    waived = sum(1 for a in plan.actions if a.waived)
    text = (
        f"**Plan:** {c['create']} to create, {c['update']} to update, {c['replace']} to "
        f"replace, {c['delete']} to delete; {c['blocked'] + c['unknown']} blocked, "
        f"{held} with drift held back, {waived} with drift waived; {c['noop']} unchanged."
    )
    if calls:
        text += (
            f" {counted(int(calls.get('total', 0)), 'AWS API call')} "
            f"({calls.get('reads', 0)} reads, {calls.get('writes', 0)} writes)."
        )
    return text


def _fold(parts: _Parts, budget: int) -> None:
    """Leave out the largest diffs, then rows, warnings and callout lines from the end,
    until what is left fits in `budget` characters."""
    size = parts.size()
    by_size = sorted(
        (i for i, d in enumerate(parts.diffs) if d is not None),
        key=lambda i: -len(parts.diffs[i] or ""),
    )
    for i in by_size:
        if size <= budget:
            return
        size -= len(parts.diffs[i] or "") + 2
        parts.diffs[i] = None
    for pieces in (parts.rows, parts.warnings, parts.callout):
        for i in reversed(range(len(pieces))):
            if size <= budget:
                return
            size -= len(pieces[i] or "") + 2 if pieces[i] is not None else 0
            pieces[i] = None


def _drop_one(parts: _Parts) -> bool:
    for pieces in (parts.diffs, parts.rows, parts.warnings, parts.callout):
        kept = [i for i, p in enumerate(pieces) if p is not None]
        if kept:
            pieces[kept[-1]] = None
            return True
    return False


def _compose(plan: Plan, calls: Mapping[str, Any] | None, shown: list[Action], p: _Parts) -> str:
    blocks = [f"{MARKER}\n### plumb plan", summary_line(plan, calls)]
    callout = [line for line in p.callout if line is not None]
    if p.callout:
        many = counted(len(p.callout), "destructive action")
        head = f"> **{many}**: deletes and replaces, done or blocked"
        more = p.left_out("callout")
        tail = [f"> - and {more} more: run `plumb plan` for them"] if more else []
        blocks.append("\n".join(["> [!CAUTION]", head, *callout, *tail]))
    rows = [r for r in p.rows if r is not None]
    if rows:
        header = "| stack | resource | kind | action | reason |\n|---|---|---|---|---|"
        blocks.append("\n".join([header, *rows]))
    elif not shown:
        blocks.append("No changes: AWS matches the specs.")
    unchanged = sum(1 for a in plan.actions if a.type is A.NOOP and not a.waived)
    if unchanged:
        blocks.append(f"{counted(unchanged, 'resource')} unchanged, not listed.")
    diffs = [d for d in p.diffs if d is not None]
    if diffs:
        blocks += ["#### Changes", *diffs]
    blocks += [w for w in p.warnings if w is not None]
    blocks += [f"- ❌ {escape(e)}" for e in plan.errors]
    blocks.append(_left_out_note(p))
    return "\n\n".join(b for b in blocks if b) + "\n"


def _left_out_note(p: _Parts) -> str:
    said = [
        f"{what} {counted(n, noun)}"
        for what, noun, n in (
            ("diffs of", "resource", p.left_out("diffs")),
            ("table rows of", "action", p.left_out("rows")),
            ("", "warning", p.left_out("warnings")),
        )
        if n
    ]
    if not said:
        return ""
    return (
        f"_To fit one comment, {', '.join(s.strip() for s in said)} left out: "
        "run `plumb plan` for them._"
    )


def _action_name(action: Action) -> str:
    return f"`{SYMBOLS[action.type.value]}` {action.type.value}"


def _callout_item(action: Action) -> str:
    what = action.type.value
    why = action.explanation()
    reason = f": {escape(why)}" if why else ""
    return (
        f"> - {code(action.stack)} {code(action.name())} ({escape(action.kind)}), "
        f"**{what}**{reason}"
    )


def _row(action: Action) -> str:
    cells = [
        code(action.stack, table=True),
        code(action.name(), table=True),
        escape(action.kind),
        _action_name(action) + (" (waived drift)" if action.waived and not action.changes else ""),
        escape(action.explanation()),
    ]
    return "| " + " | ".join(cells) + " |"


def _details(action: Action) -> str:
    """The resource's field changes, folded; "" when it has none to show."""
    lines = [_diff_line(line) for c in action.changes for line in _scrubbed_lines(c)]
    lines += [f"  waived: {line}" for c in action.waived for line in _scrubbed_lines(c)]
    if not lines:
        return ""
    what = f"{action.type.value}, {counted(len(lines), 'line')}"
    summary = f"{html_code(action.logical_id)} ({html_code(action.kind)}): {what}"
    body = fence("\n".join(lines), "diff")
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>"


def _scrubbed_lines(change: FieldChange) -> list[str]:
    """Lines of a change with secret-looking values masked, as the state and reports do."""
    if change.sensitive:
        return change_lines(change)
    return change_lines(from_json(scrub_change(change.to_json())))


def _diff_line(line: str) -> str:
    # "+ x" and "- x" colour as added and removed; an in-place change is marked "!".
    return line if line[:2] in ("+ ", "- ") else f"! {line}"
