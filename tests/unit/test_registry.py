"""The kind registry: one module per kind, and a second claim on a kind refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controller.kinds import registry
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor
from controller.kinds.registry import DuplicateKind


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    registry.load_all()
    for table in ("REGISTRY", "EXPANDERS", "CHECKS", "GUARDRAILS", "GUARDRAIL_NAMES"):
        monkeypatch.setattr(registry, table, dict(getattr(registry, table)))
    yield


def _kind(name: str) -> type[BaseReconciler]:
    return type(name, (BaseReconciler,), {"descriptor": Descriptor(name, "ec2")})


def test_a_second_reconciler_for_a_kind_is_refused_naming_both() -> None:
    with pytest.raises(DuplicateKind, match=r"kind Vpc has two reconcilers: reconcilers\.vpc"):
        registry.register(_kind("Vpc"))
    assert registry.REGISTRY["Vpc"].__module__ == "reconcilers.vpc"


def test_the_same_class_met_again_is_no_duplicate() -> None:
    cls = registry.REGISTRY["Vpc"]
    assert registry.register(cls) is cls


def test_a_kind_sets_its_name_from_its_descriptor() -> None:
    cls = registry.register(_kind("Widget"))
    assert cls.kind == "Widget" and registry.reconciler_for("Widget").kind == "Widget"


def test_a_reconciler_without_a_descriptor_is_refused() -> None:
    bare = type("Bare", (BaseReconciler,), {})
    with pytest.raises(TypeError, match="declares no descriptor"):
        registry.register(bare)


def test_a_second_expander_or_check_for_a_kind_is_refused() -> None:
    def expand(doc: Any) -> list[Any]:
        return []

    with pytest.raises(DuplicateKind, match="two expanders"):
        registry.expander("Environment")(expand)
    with pytest.raises(DuplicateKind, match="two semantic checks"):
        registry.semantic_check("Environment")(expand)


def test_a_guardrail_name_declared_twice_differently_is_refused() -> None:
    name = next(iter(registry.GUARDRAIL_NAMES))
    with pytest.raises(DuplicateKind, match=name):
        registry.guardrail("Role", {name: "something else"})(lambda res, scope: [])


def test_a_transient_code_overrides_a_common_terminal_one() -> None:
    from botocore.exceptions import ClientError

    err = ClientError({"Error": {"Code": "InvalidParameterValue", "Message": "m"}}, "Op")
    plain = _kind("Plain")
    eventual = type(
        "Eventual",
        (BaseReconciler,),
        {
            "descriptor": Descriptor(
                "Eventual", "ec2", transient_codes=frozenset({"InvalidParameterValue"})
            )
        },
    )
    assert plain().classify(err).__class__.__name__ == "TerminalError"
    assert eventual().classify(err).__class__.__name__ == "TransientError"
