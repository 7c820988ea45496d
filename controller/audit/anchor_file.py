"""The chain in the database against its anchor lines (controller/audit/archive.py): which run
differs from the head kept outside, which anchored runs the database lacks, which sealed
runs no line covers. A leaf of the audit: plain data in, messages out."""

from __future__ import annotations

from typing import Any

from controller.chain import same_hash


def compare_anchors(
    runs: list[dict[str, Any]], anchors: list[dict[str, Any]], ids_issued: int
) -> tuple[list[str], list[str]]:
    """`runs`: id, seq and hash of each sealed run in chain order. Returns (problems, notes)."""
    by_seq, problems = _by_position(anchors)
    if not by_seq:
        if runs:
            problems.append(
                f"the anchor holds no line, yet {len(runs)} run(s) are sealed: anchoring was "
                "off or failed for all of them, or the anchor was emptied"
            )
        return problems, []
    first, last = min(by_seq), max(by_seq)
    head = by_seq[last]
    problems += _differing(runs, by_seq)
    problems += _unanchored(runs, by_seq, first, head)
    problems += _missing(runs, by_seq, head, ids_issued)
    before = sum(1 for r in runs if r["seq"] < first)
    notes = [f"{before} run(s) sealed before anchoring began (positions 1..{first - 1})"] * bool(
        before
    )
    return problems, notes


def _by_position(anchors: list[dict[str, Any]]) -> tuple[dict[int, dict[str, Any]], list[str]]:
    by_seq: dict[int, dict[str, Any]] = {}
    problems = []
    for line in anchors:
        prior = by_seq.setdefault(line["seq"], line)
        if (prior["run"], prior["hash"]) != (line["run"], line["hash"]):
            problems.append(
                f"the anchor names two runs at chain position {line['seq']} (run {prior['run']} "
                f"and run {line['run']}): the database was forked or a line was forged"
            )
    return by_seq, problems


def _differing(runs: list[dict[str, Any]], by_seq: dict[int, dict[str, Any]]) -> list[str]:
    found = []
    for run in runs:
        line = by_seq.get(run["seq"])
        if line is not None and (
            line["run"] != run["id"] or not same_hash(line["hash"], run["hash"])
        ):
            found.append((run, line))
    if not found:
        return []
    run, line = found[0]
    text = (
        f"run {run['id']} (chain position {run['seq']}) is not the run anchored there at "
        f"{line['at']} (run {line['run']}, hash {line['hash'][:12]}; the database has "
        f"{str(run['hash'])[:12]}): altered and the chain recomputed, reordered, or replaced"
    )
    if len(found) > 1:
        text += f"; {len(found) - 1} later run(s) differ from their anchor lines too"
    return [text]


def _unanchored(
    runs: list[dict[str, Any]], by_seq: dict[int, dict[str, Any]], first: int, head: dict[str, Any]
) -> list[str]:
    problems = []
    for run in runs:
        if run["seq"] in by_seq or run["seq"] < first:
            continue
        where = f"run {run['id']} (chain position {run['seq']})"
        if run["seq"] > head["seq"]:
            problems.append(
                f"{where} was sealed after the anchor's newest line (run {head['run']}, "
                f"position {head['seq']}): anchoring failed when it was sealed, or plumb ran "
                "without the anchor, or the anchor's newest lines were removed"
            )
        else:
            problems.append(
                f"{where} has no anchor line: anchoring failed when it was sealed (its output "
                "warned), or the line was removed from the anchor"
            )
    return problems


def _missing(
    runs: list[dict[str, Any]],
    by_seq: dict[int, dict[str, Any]],
    head: dict[str, Any],
    ids_issued: int,
) -> list[str]:
    have = {r["seq"] for r in runs}
    end = max(have, default=0)
    problems = [
        f"run {line['run']} (chain position {seq}, anchored at {line['at']}) is missing from "
        "the database: removed"
        for seq, line in sorted(by_seq.items())
        if seq not in have and seq <= end
    ]
    tail = [line for seq, line in sorted(by_seq.items()) if seq > end]
    if not tail:
        return problems
    last = f"run {runs[-1]['id']} (position {end})" if runs else "no run"
    known = (
        f"the anchor's head is run {head['run']} (position {head['seq']}, sealed {head['at']}) "
        f"but the database's chain ends at {last}"
    )
    if ids_issued < head["run"]:
        problems.append(
            f"run {tail[0]['run']} (chain position {tail[0]['seq']}) and what follows are "
            f"missing: the database was rolled back to an older copy ({known}; it never "
            f"handed out run id {head['run']})"
        )
    else:
        problems.append(
            f"run {tail[0]['run']} (chain position {tail[0]['seq']}) and {len(tail) - 1} later "
            f"anchored run(s) were cut off the end of the chain ({known})"
        )
    return problems
