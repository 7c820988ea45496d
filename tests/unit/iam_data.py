"""IAM's own definition of each action (the Service Authorization Reference, as parliament
ships it): access level, resource types with their ARN formats, condition keys."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import parliament


@functools.cache
def services() -> dict[str, dict[str, Any]]:
    data = json.loads((Path(parliament.__file__).parent / "iam_definition.json").read_text())
    return {s["prefix"]: s for s in data}


def privilege(action: str) -> dict[str, Any]:
    prefix, name = action.split(":", 1)
    for p in services()[prefix]["privileges"]:
        if p["privilege"].lower() == name.lower():
            return dict(p)
    raise KeyError(f"IAM knows no action {action}")


def access_level(action: str) -> str:
    return str(privilege(action)["access_level"])


def arn_formats(action: str) -> dict[str, str]:
    """Resource type -> ARN format (regex) for every resource type the action supports."""
    prefix = action.split(":", 1)[0]
    formats = {r["resource"]: r["arn"] for r in services()[prefix]["resources"]}
    out = {}
    for rtype in privilege(action)["resource_types"]:
        name = rtype["resource_type"].rstrip("*")
        if name and name in formats:
            pattern = re.escape(formats[name])
            out[name] = re.sub(r"\\\$\\\{[A-Za-z]+\\\}", ".+", pattern)
    return out


def condition_keys(action: str, resource_type: str) -> set[str]:
    """What a condition on this action and resource type may test: the type's keys and the
    action's own."""
    keys: set[str] = set()
    for rtype in privilege(action)["resource_types"]:
        if rtype["resource_type"].rstrip("*") in ("", resource_type):
            keys.update(rtype["condition_keys"])
    return keys
