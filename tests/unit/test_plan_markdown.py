"""`plumb plan --format markdown`: one pull-request comment, destructive actions first,
within GitHub's 65,536 characters, with untrusted text kept inert."""

from __future__ import annotations

import dataclasses
import re

from controller.engine.plan import Plan
from controller.model import Action, ActionType, FieldChange
from controller.reports.plan_markdown import COMMENT_LIMIT, plan_markdown
from controller.specs.policy import StackPolicy
from tests.unit.test_plan import STACK, fake_kinds, have, plan_of, want  # noqa: F401 (fixture)
from tests.unit.test_report import _outside_code

A = ActionType
CALLS = {"total": 12, "reads": 12, "writes": 0}
REPLACE_REFUSED = (
    "replace refused: cidr cannot change in place and the resource would be destroyed and "
    "recreated; rerun with --allow-replace to allow it"
)


def _mixed_plan() -> Plan:
    """An update, a create, a delete, a refused replace, and two unchanged resources."""
    plan = plan_of(
        [want("a", size=2), want("b", size=1), want("c", size=1), want("d", size=1)],
        [have("a", size=1), have("c", size=1), have("d", size=1), have("gone", size=1)],
        policy=StackPolicy(prune=True),
    )
    refused = Action(
        A.BLOCKED,
        "Widget",
        f"{STACK}/net",
        changes=(FieldChange("cidr", "10.0.0.0/16", "10.1.0.0/16", immutable=True),),
        reason=REPLACE_REFUSED,
    )
    plan.resources[refused.logical_id] = plan.resources[f"{STACK}/a"]
    plan.actions.append(refused)
    return plan


def test_the_comment_has_a_summary_a_table_and_folded_diffs() -> None:
    md = plan_markdown(_mixed_plan(), CALLS)
    assert md.startswith("<!-- plumb plan -->\n### plumb plan\n")
    summary = md.splitlines()[3]
    assert summary.startswith("**Plan:** 1 to create, 1 to update, 0 to replace, 1 to delete")
    assert "1 blocked" in summary and "12 AWS API calls" in summary
    assert "| stack | resource | kind | action | reason |" in md
    rows = [line for line in md.splitlines() if line.startswith("| `acme-prod`")]
    assert len(rows) == 4, "changed resources only"
    assert "2 resources unchanged, not listed." in md
    assert md.count("<details><summary>") == 4 and md.count("</details>") == 4
    update = md[md.index("<code>acme-prod/a</code>") :]
    assert "! size: 1 → 2" in update[: update.index("</details>")]
    assert '! cidr: "10.0.0.0/16" → "10.1.0.0/16"  (forces replacement)' in md


def test_destructive_actions_come_first_in_a_callout() -> None:
    md = plan_markdown(_mixed_plan(), CALLS)
    callout = md[md.index("> [!CAUTION]") : md.index("| stack |")]
    assert "**2 destructive actions**" in callout
    assert "`gone` (Widget), **delete**" in callout
    assert "`net` (Widget), **blocked**: replace refused" in callout
    assert md.index("> [!CAUTION]") < md.index("| stack |")
    rows = [line.split(" | ")[1] for line in md.splitlines() if line.startswith("| `acme-prod`")]
    assert rows[:2] == ["`gone`", "`net`"], "deletes and replaces lead the table"
    assert md.index("<code>acme-prod/gone</code>") < md.index("<code>acme-prod/a</code>")


def test_option_names_are_not_escaped() -> None:
    md = plan_markdown(_mixed_plan(), CALLS)
    assert "rerun with --allow-replace to allow it" in md
    assert "\\-" not in md


def test_a_plan_without_changes_says_so() -> None:
    md = plan_markdown(plan_of([want("a", size=1)], [have("a", size=1)]))
    assert "No changes: AWS matches the specs." in md and "1 resource unchanged" in md
    assert "[!CAUTION]" not in md and "<details>" not in md


def test_untrusted_values_and_reasons_cannot_inject_markup() -> None:
    evil = "</summary></details>```\n<script>alert(1)</script> [x](javascript:alert(1)) @here"
    plan = plan_of([want("a", note="fine")], [have("a", note=evil)])
    (action,) = plan.actions
    plan.actions = [dataclasses.replace(action, reason=evil, warnings=(evil,))]
    md = plan_markdown(plan)
    markup = _outside_code(md)
    assert "<script>" not in markup and "</summary></details>`" not in markup
    assert "[x](" not in markup and " @here" not in markup
    assert markup.count("<details>") == markup.count("</details>") == 1
    assert "alert(1)" in md, "shown, but inert"


def test_secrets_are_masked_as_in_every_report() -> None:
    plan = plan_of([want("a", size=1)], [have("a", size=1)])
    (action,) = plan.actions
    changes = (
        FieldChange("authToken", "old-secret-1", "new-secret-2", sensitive=True),
        FieldChange("environment", {"DB_PASSWORD": "pw-old-3"}, {"DB_PASSWORD": "pw-new-4"}),
    )
    plan.actions = [dataclasses.replace(action, type=A.UPDATE, changes=changes)]
    md = plan_markdown(plan)
    assert "authToken: (sensitive)" in md
    for secret in ("old-secret-1", "new-secret-2", "pw-old-3", "pw-new-4"):
        assert secret not in md


def _big_plan(n: int = 2000) -> Plan:
    """n resources: a third new, the rest updated, each with a diff of its own size."""
    resources = [
        want(f"r{i:04}", size=2, doc={f"key{j}": "v" * (i % 60) for j in range(i % 9)})
        for i in range(n)
    ]
    plan = plan_of(resources, [have(f"r{i:04}", size=1) for i in range(n) if i % 3])
    plan.actions += [Action(A.DELETE, "Widget", f"{STACK}/old{i}") for i in range(3)]
    return plan


def test_a_plan_of_2000_resources_fits_one_comment_and_says_what_it_left_out() -> None:
    md = plan_markdown(_big_plan(), CALLS)
    assert len(md) <= COMMENT_LIMIT
    assert md.startswith(
        "<!-- plumb plan -->\n### plumb plan\n\n**Plan:** 667 to create, 1333 to update"
    )
    note = re.search(r"diffs of (\d+) resources, table rows of (\d+) actions left out", md)
    assert note, md[-300:]
    assert md.rstrip().endswith("left out: run `plumb plan` for them._")
    shown_rows = sum(1 for line in md.splitlines() if line.startswith("| `acme-prod`"))
    assert shown_rows + int(note.group(2)) == 2003
    assert "**3 destructive actions**" in md and "`old0` (Widget), **delete**" in md
    assert md.index("> [!CAUTION]") < md.index("| stack |")


def test_the_largest_diffs_are_left_out_first() -> None:
    plan = _big_plan(120)
    whole = plan_markdown(plan, limit=10**7)
    assert "left out" not in whole
    md = plan_markdown(plan, limit=len(whole) - 2000)
    assert len(md) <= len(whole) - 2000
    assert re.search(r"_To fit one comment, diffs of \d+ resources left out", md)
    assert "table rows" not in md, "rows stay while leaving out diffs is enough"
    kept = set(re.findall(r"<code>acme-prod/(r\d+)</code>", md))
    gone = set(re.findall(r"<code>acme-prod/(r\d+)</code>", whole)) - kept
    assert gone and kept

    def size(name: str) -> int:
        block = whole[whole.index(f"<code>acme-prod/{name}</code>") :]
        return block.index("</details>")

    assert min(map(size, gone)) >= max(map(size, kept))
