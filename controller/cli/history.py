"""`plumb history`: recent runs as a table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from controller.state.store import Store

OUTCOME_STYLE = {
    "succeeded": "green",
    "no-changes": "dim",
    "planned": "cyan",
    "declined": "cyan",
    "in-sync": "dim",
    "drifted": "yellow",
    "interrupted": "red",
    "partial": "yellow",
    "progressing": "yellow",
    "failed": "red",
    "rejected": "red",
}


def print_history(store: Store, stacks: Sequence[str], limit: int, console: Console) -> int:
    runs: list[dict[str, Any]] = []
    everywhere: list[str | None] = [None]
    for stack in stacks or everywhere:
        runs += store.runs.recent(stack=stack, limit=limit)
    runs = sorted({r["id"]: r for r in runs}.values(), key=lambda r: r["id"], reverse=True)[:limit]
    table = Table(show_edge=False)
    for col in ("run", "started", "trigger", "commit", "stacks", "outcome", "changes", "API calls"):
        table.add_column(col)
    for r in runs:
        counts = r.get("counts") or {}
        changed = sum(counts.get(k, 0) for k in ("create", "update", "replace", "delete"))
        calls = (r.get("apiCalls") or {}).get("total", 0)
        style = OUTCOME_STYLE.get(r.get("outcome", ""), "")
        table.add_row(
            str(r["id"]),
            str(r.get("startedAt") or "")[:19].replace("T", " "),
            r.get("trigger", ""),
            ((r.get("commit") or {}).get("sha") or "")[:10],
            ", ".join(r.get("stacks") or []),
            f"[{style}]{r.get('outcome', '')}[/{style}]" if style else r.get("outcome", ""),
            str(changed),
            str(calls),
        )
    if not runs and stacks:
        console.print(f"No run touched {', '.join(stacks)}; `plumb history` lists every run.")
        return 0
    if not runs:
        console.print("No runs yet.")
        return 0
    console.print(table)
    return 0
