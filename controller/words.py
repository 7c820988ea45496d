"""Counts in sentences: "1 error", "2 errors", never "1 errors"."""

from __future__ import annotations

_IRREGULAR = {"was": "were", "is": "are", "has": "have"}


def counted(n: int, noun: str, plural: str = "") -> str:
    """`n` and the noun that agrees with it: counted(1, "stack") == "1 stack"."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {plural or _IRREGULAR.get(noun) or noun + 's'}"
