"""Redaction by contract: a field the schema marks sensitive (writeOnly or x-plumb-sensitive)
is compared like any other and shown as "(sensitive)" in every diff, report and the state."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.kinds.diff import diff
from controller.kinds.fields import FieldRules, rules_for, sensitive_fields
from controller.model import SENSITIVE, Action, ActionType, Observed, Resource
from controller.reports import period as period_report
from controller.reports import run_report as report
from controller.state.store import Store

PLANTED = "planted-value-7f3e1d"
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "auth": {
            "type": "object",
            "properties": {
                "user": {"type": "string"},
                "key": {"type": "string", "x-plumb-sensitive": True},
            },
        },
        "tokens": {"type": "array", "items": {"type": "string", "writeOnly": True}},
    },
}
RULES = FieldRules.from_schema(SCHEMA)


def _concrete(path: str) -> str:
    return path.replace(".[]", "[0]").replace("*", "ANY")


@pytest.mark.parametrize(
    ("kind", "path"),
    [(kind, path) for kind, paths in sensitive_fields().items() for path in paths]
    + [("(example)", "auth.key")],
)
def test_every_sensitive_field_of_the_schemas_is_masked(kind: str, path: str) -> None:
    rules = RULES if kind == "(example)" else rules_for(kind)
    assert rules.masks(_concrete(path))
    top = _concrete(path).split(".")[0].split("[")[0]
    assert rules.masks(top), "a whole object created at once holds it"


def test_the_contract_list_comes_from_the_schemas() -> None:
    assert RULES.sensitive_paths() == ["auth.key", "tokens.[]"]
    assert all(paths for paths in sensitive_fields().values())


def test_a_sensitive_value_reaches_no_report_and_not_the_state(tmp_path: Path) -> None:
    want = {"name": "n", "auth": {"user": "u", "key": PLANTED}}
    have = {"name": "n", "auth": {"user": "u", "key": PLANTED + "-old"}}
    desired = Resource("Example", "s/x", want, "us-east-1")
    observed = Observed("Example", "s/x", "x", have, tags=desired.ownership_tags())
    (change,) = diff(desired, observed, RULES).changes
    assert change.path == "auth.key" and change.sensitive, "compared, then masked"
    url = f"sqlite:///{tmp_path}/state.db"
    store = Store(url)
    run_id = store.runs.begin("cli-apply", "apply", ["s"])
    action = Action(ActionType.UPDATE, "Example", "s/x", changes=(change,), physical_id="x")
    store.runs.record_change(run_id, action, "applied")
    store.chain.seal(run_id, "succeeded")
    run = store.runs.get(run_id)
    assert run["changes"][0]["diff"][0]["after"] == SENSITIVE
    period = period_report.build(store, None, None)
    for fmt in report.FORMATS:
        assert PLANTED not in report.render(run, fmt), fmt
        assert PLANTED not in period_report.render(period, fmt), f"period {fmt}"
    assert RULES.redact(have)["auth"] == {"user": "u", "key": SENSITIVE}
    assert RULES.redact({"tokens": [PLANTED]}) == {"tokens": [SENSITIVE]}
    store.close()
    for name in ("state.db", "state.db-wal"):
        path = tmp_path / name
        assert not path.exists() or PLANTED.encode() not in path.read_bytes()
