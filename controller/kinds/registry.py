"""The registry of kinds: reconcilers, expanders, semantic checks and guardrails, by kind.

The engine looks kinds up here and nowhere else. The kinds themselves live in plugin
packages (`reconcilers/` is the one plumb ships) that this module imports by name at first
use, so no room of `controller/` imports a concrete kind; each kind's module registers
itself with the decorators below. A kind registered twice is refused: two modules claiming
one kind would otherwise let whichever was imported last win, silently.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from controller.errors import PlumbError

if TYPE_CHECKING:
    from controller.kinds.base import BaseReconciler

R = TypeVar("R", bound="type[BaseReconciler]")
F = TypeVar("F", bound=Callable[..., Any])

# The packages whose modules are kinds, imported whole on first use.
KIND_PACKAGES: tuple[str, ...] = ("reconcilers",)

REGISTRY: dict[str, type[BaseReconciler]] = {}
# kind -> expand(document) -> list[Resource]; for kinds that compose others.
EXPANDERS: dict[str, Callable[..., Any]] = {}
# kind -> check(document) -> list[(path, message)]; semantic checks on a schema-valid document.
CHECKS: dict[str, Callable[..., Any]] = {}
# kind -> rules(resource, scope) -> list[(path, guardrail, message)]: what an expanded resource
# may grant (controller/specs/guardrails.py runs them); guardrail name -> what it refuses.
GUARDRAILS: dict[str, list[Callable[..., Any]]] = {}
GUARDRAIL_NAMES: dict[str, str] = {}


class DuplicateKind(PlumbError):
    """Two modules register the same kind (or the same expander, check, guardrail name)."""


def register(cls: R) -> R:
    """Class decorator: `cls` reconciles the kind its descriptor names."""
    if "descriptor" not in cls.__dict__:
        raise TypeError(f"{_name(cls)} declares no descriptor: a kind says what it is")
    _claim(REGISTRY, cls.descriptor.kind, cls, "reconciler")
    return cls


def expander(kind: str) -> Callable[[F], F]:
    """Function decorator: `fn(document)` expands a `kind` document into resources."""

    def wrap(fn: F) -> F:
        _claim(EXPANDERS, kind, fn, "expander")
        return fn

    return wrap


def semantic_check(kind: str) -> Callable[[F], F]:
    """Function decorator: `fn(document)` finds what the schema cannot say of a `kind`."""

    def wrap(fn: F) -> F:
        _claim(CHECKS, kind, fn, "semantic check")
        return fn

    return wrap


def guardrail(kind: str, names: dict[str, str]) -> Callable[[F], F]:
    """Function decorator: `fn(resource, scope)` refuses what a `kind` resource may not
    grant; `names` are the guardrails it applies, each with what it refuses."""

    def wrap(fn: F) -> F:
        for name in names:
            if GUARDRAIL_NAMES.get(name, names[name]) != names[name]:
                raise DuplicateKind(f"guardrail {name!r} is declared twice, differently")
        rules = GUARDRAILS.setdefault(kind, [])
        if not any(_same(rule, fn) for rule in rules):
            rules.append(fn)
        GUARDRAIL_NAMES.update(names)
        return fn

    return wrap


_loaded = False
_loading = threading.RLock()  # a kind module may look another kind up as it loads


def load_all() -> None:
    """Import every module of the kind packages once, so their decorators register them."""
    global _loaded
    with _loading:
        if _loaded:
            return
        for package_name in KIND_PACKAGES:
            package = importlib.import_module(package_name)
            for info in pkgutil.iter_modules(package.__path__):
                if not info.name.startswith("__"):
                    importlib.import_module(f"{package_name}.{info.name}")
        _loaded = True


def reconciler_for(kind: str) -> BaseReconciler:
    load_all()
    return REGISTRY[kind]()


def known_kinds() -> list[str]:
    load_all()
    return sorted(set(REGISTRY) | set(EXPANDERS))


def _claim(table: dict[str, Any], kind: str, what: Any, role: str) -> None:
    have = table.get(kind)
    if have is not None and not _same(have, what):
        raise DuplicateKind(
            f"kind {kind} has two {role}s: {_name(have)} and {_name(what)}; "
            "a kind is registered by one module only"
        )
    table[kind] = what


def _same(a: Any, b: Any) -> bool:
    """One definition met twice (its module imported again) is not a duplicate."""
    return a is b or _name(a) == _name(b)


def _name(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"
