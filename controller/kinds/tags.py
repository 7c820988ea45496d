"""Tags as AWS spells them (lists of Key/Value pairs) and as plumb compares them (a dict)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def to_dict(
    tags: Iterable[Mapping[str, Any]] | None, key: str = "Key", value: str = "Value"
) -> dict[str, str]:
    return {str(t[key]): str(t.get(value, "")) for t in tags or ()}


def to_list(
    tags: Mapping[str, str], key: str = "Key", value: str = "Value"
) -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in sorted(tags.items())]


def user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags minus the ones AWS reserves (`aws:`), which nobody can set or remove."""
    return {k: v for k, v in tags.items() if not k.startswith("aws:")}


def tag_delta(have: Mapping[str, str], want: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(tags to set, keys to remove) to turn `have` into `want`; `aws:` tags are left alone."""
    to_set = {k: v for k, v in want.items() if have.get(k) != v}
    to_remove = sorted(k for k in user_tags(have) if k not in want)
    return to_set, to_remove
