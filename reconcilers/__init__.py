"""The registry of kinds: reconcilers, expanders and semantic checks, found by kind name.

The engine in `controller/` only ever looks kinds up here, so adding a kind is one
module, one schema and its `@register`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from controller.kinds.base import BaseReconciler

R = TypeVar("R", bound="type[BaseReconciler]")

REGISTRY: dict[str, type[BaseReconciler]] = {}
# kind -> expand(document) -> list[Resource]; for kinds that compose others.
EXPANDERS: dict[str, Callable[..., Any]] = {}
# kind -> check(document) -> list[(path, message)]; semantic checks on a schema-valid document.
CHECKS: dict[str, Callable[..., Any]] = {}
# kind -> rules(resource, scope) -> list[(path, guardrail, message)]: what an expanded resource
# may grant (controller/specs/guardrails.py runs them); guardrail name -> what it refuses.
GUARDRAILS: dict[str, list[Callable[..., Any]]] = {}
GUARDRAIL_NAMES: dict[str, str] = {}


def register(cls: R) -> R:
    REGISTRY[cls.kind] = cls
    return cls


def expander(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        EXPANDERS[kind] = fn
        return fn

    return wrap


def semantic_check(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        CHECKS.setdefault(kind, fn)
        return fn

    return wrap


def guardrail(
    kind: str, names: dict[str, str]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        GUARDRAILS.setdefault(kind, []).append(fn)
        GUARDRAIL_NAMES.update(names)
        return fn

    return wrap


_loaded = False


def load_all() -> None:
    """Import every module in this package once, so their decorators register them."""
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("__"):
            importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True


def reconciler_for(kind: str) -> BaseReconciler:
    load_all()
    return REGISTRY[kind]()


def known_kinds() -> list[str]:
    load_all()
    return sorted(set(REGISTRY) | set(EXPANDERS))
