"""An immutable field changed: the resource is destroyed and made again, which the run must
allow (--allow-replace) and, for one that holds data, its spec too (deletionPolicy Delete)."""

from __future__ import annotations

import dataclasses

from controller.model import Action, ActionType, FieldChange, Resource

A = ActionType


def replace_or_refuse(
    res: Resource,
    base: Action,
    live: tuple[FieldChange, ...],
    stateful: bool,
    allow_replace: bool,
) -> Action:
    """`base` as a replace, or blocked with what would allow it."""
    fields_txt = ", ".join(c.path for c in live if c.immutable)
    why = f"{fields_txt} cannot change in place"
    if stateful and res.deletion_policy == "Retain":
        return dataclasses.replace(
            base,
            type=A.BLOCKED,
            reason=(
                f"replace refused: {why}, and replacing it destroys the data it holds; "
                "its deletionPolicy is Retain: set deletionPolicy: Delete in its section "
                "and rerun with --allow-replace to destroy and recreate it"
            ),
        )
    if not allow_replace:
        what = "stateful resource (deletionPolicy Delete)" if stateful else "resource"
        return dataclasses.replace(
            base,
            type=A.BLOCKED,
            reason=(
                f"replace refused: {why} and the {what} would be destroyed and "
                "recreated; rerun with --allow-replace to allow it"
            ),
        )
    if stateful:
        why += "; its data is destroyed with it (deletionPolicy Delete, --allow-replace)"
    return dataclasses.replace(base, type=A.REPLACE, reason=why)
