"""Field rules come from the schemas, through one registry of comparators."""

from __future__ import annotations

import pytest

from controller.kinds import registry
from controller.kinds.fields import COMPARATORS, FieldRules, SchemaRuleError, comparator, rules_for

registry.load_all()


def test_an_unknown_compare_rule_is_an_error_at_load_time() -> None:
    schema = {"properties": {"ports": {"type": "array", "x-plumb-compare": "sett"}}}
    with pytest.raises(SchemaRuleError, match="'sett' is not a rule plumb knows"):
        FieldRules.from_schema(schema, "schemas/example.json")


@pytest.mark.parametrize("kind", sorted(registry.REGISTRY))
def test_every_schema_names_only_known_rules(kind: str) -> None:
    rules_for.cache_clear()
    rules_for(kind)  # raises on a rule no comparator implements


@pytest.mark.parametrize(
    ("rule", "want", "have", "equal"),
    [
        pytest.param("set", [2, 1], [1, 2, 2], True, id="sets ignore order and repeats"),
        pytest.param("version", "7.1", "7.1.4", True, id="7.1 is satisfied by 7.1.4"),
        pytest.param("version", "7.1", "7.10", False, id="7.1 is not 7.10"),
        pytest.param(
            "policy",
            {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}},
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}],
            },
            True,
            id="policies compare parsed, scalars as lists",
        ),
        pytest.param("version-at-least", "5.0.0", "5.0.1", True, id="AWS's own upgrade"),
        pytest.param("version-at-least", "5.0.1", "5.0.0", False, id="an older version"),
        pytest.param("version-at-least", "4.0.0", "5.0.0", False, id="another major"),
        pytest.param("exact", {"a": 1}, {"a": 1, "b": 2}, False, id="exact sees extra keys"),
    ],
)
def test_comparators(rule: str, want: object, have: object, equal: bool) -> None:
    assert COMPARATORS[rule](want, have) is equal


def test_a_field_without_a_rule_compares_exactly() -> None:
    assert comparator(FieldRules().rule(("any",)))([1, 2], [2, 1]) is False
