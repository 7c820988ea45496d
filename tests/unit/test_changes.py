"""A field's change as a reviewer reads it: set members added and removed, a new key marked,
no value cut short."""

from __future__ import annotations

from controller.kinds.diff import diff
from controller.model import UNKNOWN, FieldChange, Observed, Resource
from controller.reports.changes import change_lines, from_json


def _rule(port: int, cidr: str = "0.0.0.0/0") -> dict[str, object]:
    return {"protocol": "tcp", "fromPort": port, "toPort": port, "cidrs": [cidr]}


def _group(ingress: list[dict[str, object]]) -> Resource:
    return Resource(
        kind="SecurityGroup",
        logical_id="acme-prod/lb/sg",
        spec={"groupName": "acme-prod-alb", "vpcId": "vpc-1", "ingress": ingress},
        region="us-east-1",
    )


def test_a_set_field_shows_the_members_added_and_removed_not_list_positions() -> None:
    want = _group([_rule(443, "10.0.0.0/8"), _rule(80, "10.0.0.0/8")])
    have = Observed(
        kind="SecurityGroup",
        logical_id=want.logical_id,
        physical_id="sg-1",
        spec={**want.spec, "ingress": [_rule(80), _rule(443)]},
        tags=want.ownership_tags(),
    )
    [change] = diff(want, have).changes
    lines = change_lines(change)
    assert all(line.startswith(("- ingress: ", "+ ingress: ")) for line in lines), lines
    assert len(lines) == 4 and not any("[0]" in line or "[1]" in line for line in lines)
    assert '+ ingress: {"cidrs": ["10.0.0.0/8"], "fromPort": 443' in "\n".join(lines)
    # stored in a run and read back by the report, it reads the same
    assert change_lines(from_json(change.to_json())) == lines


def test_a_tag_an_update_adds_or_removes_is_marked() -> None:
    change = FieldChange("tags", {"Team": "a", "Old": "x"}, {"Team": "b", "New": "y"})
    assert change_lines(change) == [
        '+ tags.New: "y"',
        '- tags.Old: "x"',
        'tags.Team: "a" → "b"',
    ]


def test_a_long_value_is_never_cut_short() -> None:
    rules = [_rule(port) for port in range(1000, 1012)]
    [line] = change_lines(FieldChange("egress", rules, UNKNOWN))
    assert line.endswith("→ (known after apply)") and "…" not in line
    assert '"fromPort": 1011' in line
