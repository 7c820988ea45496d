"""moto compatibility for the embedded endpoint and the tests, one module per AWS service.

moto 5 lacks a few things plumb's kinds need (docs/moto.md measures each). Each module
here patches one service's moto backend and registers the patch under that service's
boto3 name with `@patch_for("docdb")`; `patch_moto()` applies them all. Patches touch
moto's classes in this process only (which is why the embedded server runs as a thread),
and each is idempotent.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

PATCHES: dict[str, list[Callable[[], None]]] = {}


def patch_for(service: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        PATCHES.setdefault(service, []).append(fn)
        return fn

    return wrap


def patch_moto() -> None:
    """Every compatibility patch of every service."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    for service in sorted(PATCHES):
        for patch in PATCHES[service]:
            patch()
