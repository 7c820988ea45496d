"""The conformance samples: one module per kind, named for it (Subnet -> subnet.py), each
holding `SAMPLE`, what the suite (tests/integration/test_conformance.py) runs that kind's
contract on. They live here, not beside the reconcilers: production code carries none of
them. A registered kind without a module here fails the suite.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.aws.context import Context
from controller.kinds.fields import snake
from controller.model import Observed, Resource


@dataclass(frozen=True)
class Sample:
    """What the conformance suite runs for a kind.

    `build` makes what the resource needs (a VPC for a subnet) straight through boto3 and
    returns the desired resource with every reference resolved; `mutate` makes one change
    behind plumb's back, which must show as drift on `drifted` and be repaired by exactly
    the write operations in `repair` (botocore names, in any order).

    `foreign` (required of a kind whose physical name the spec fixes) makes, straight
    through boto3 and without plumb's tags, a resource holding the desired one's name: the
    suite proves it is reported as not owned and never taken over. `other` gives a second
    value for an immutable field where the suite's own variation (another enum member, a
    flipped boolean, a number or name one further) would not fit the kind's schema.
    """

    build: Callable[[Context], Resource]
    mutate: Callable[[Context, Observed], None]
    drifted: str
    repair: tuple[str, ...]
    foreign: Callable[[Context, Resource], None] | None = None
    other: Mapping[str, Any] = field(default_factory=dict)


def sample_for(kind: str) -> Sample | None:
    """The `SAMPLE` of tests/conformance/<kind in snake case>.py, or None if there is none."""
    try:
        module = importlib.import_module(f"{__name__}.{snake(kind)}")
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{snake(kind)}":
            raise
        return None
    sample = getattr(module, "SAMPLE", None)
    return sample if isinstance(sample, Sample) else None
