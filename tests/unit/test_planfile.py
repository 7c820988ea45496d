"""A saved plan is applied only as plumb wrote it: an edit, a stranger's file or no JSON at
all is refused with what it is, never as "AWS changed"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from controller.errors import PlanError
from controller.planfile import FORMAT, load, sealed

PLAN = {
    "format": FORMAT,
    "commit": {},
    "options": {"allowReplace": False, "allowDeletes": False},
    "policies": {},
    "resources": [
        {
            "kind": "LogGroup",
            "logicalId": "acme-prod/app/log-group",
            "region": "us-east-1",
            "spec": {"logGroupName": "/acme/prod/app", "retentionInDays": 30},
        }
    ],
    "actions": [],
    "fingerprint": "0" * 64,
}


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data, indent=2) if not isinstance(data, str) else data)
    return path


def test_a_plan_as_plumb_wrote_it_loads(tmp_path: Path) -> None:
    saved = load(_write(tmp_path, sealed(PLAN)))
    assert [r.logical_id for r in saved.resources] == ["acme-prod/app/log-group"]


def test_an_edited_plan_is_refused_as_altered_not_as_stale(tmp_path: Path) -> None:
    data = sealed(PLAN)
    data["resources"][0]["spec"]["retentionInDays"] = 1
    with pytest.raises(PlanError, match="was altered after plumb wrote it"):
        load(_write(tmp_path, data))


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not a plumb plan file (not JSON)"),
        ([1, 2], "is not a plumb plan file (no format"),
        ({"format": "terraform"}, "is not a plumb plan file (no format"),
        (PLAN, "has no seal"),
    ],
    ids=["not-json", "a-list", "another-format", "unsealed"],
)
def test_a_file_that_is_not_a_plumb_plan_says_so(tmp_path: Path, content, says) -> None:
    with pytest.raises(PlanError, match=re.escape(says)):
        load(_write(tmp_path, content))


def test_a_missing_plan_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read the plan file"):
        load(tmp_path / "nope.json")
