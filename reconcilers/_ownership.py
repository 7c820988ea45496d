"""Sorting what a listing found by owner, for the kinds whose service cannot filter on tags.

Such a kind lists everything, reads the tags of what could be its own, and decides
ownership on them client-side (`ctx.owns`). What carries a stack in scope is found under
its `plumb:id`; what holds a desired name without being that resource is someone else's,
observed as not owned so the plan can block it, and never taken over.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import TypeVar

from controller.aws.context import Context
from controller.errors import ERR_CREATE, TerminalError
from controller.model import TAG_ID, Observed, Resource

T = TypeVar("T")
# (logical id, the listed item, its tags, the desired resource it is or None) -> Observed
Read = Callable[[str, T, dict[str, str], Resource | None], Observed]


def stack_prefixes(ctx: Context) -> tuple[str, ...]:
    """plumb names what it makes "{stack}-...": the prefixes of the stacks in scope."""
    return tuple(f"{stack}-" for stack in sorted(ctx.stacks))


def could_be_ours(ctx: Context, name: str, wanted: Collection[str]) -> bool:
    """Worth a tag read: a desired name, or one that starts with a stack in scope. Every
    tag read is one call; the trade-off is that a resource written directly in a spec under
    a name that does not start with its stack is not found as an orphan once it leaves the
    spec (never deleted by mistake, only forgotten)."""
    return name in wanted or name.startswith(stack_prefixes(ctx))


def tagged(
    items: Iterable[T],
    name_of: Callable[[T], str],
    worth: Callable[[str], bool],
    tags_of: Callable[[T], dict[str, str] | None],
) -> Iterator[tuple[str, T, dict[str, str] | None]]:
    """(name, item, tags) of the listed items whose name is `worth` a tag read, each read
    only as `by_owner` reaches it."""
    for item in items:
        name = name_of(item)
        if worth(name):
            yield name, item, tags_of(item)


def by_owner(
    ctx: Context,
    listed: Iterable[tuple[str, T, dict[str, str] | None]],
    wanted: Mapping[str, Resource],
    read: Read[T],
) -> dict[str, Observed]:
    """What was listed, by logical id. `listed` gives each item's name, the item and its
    tags (None: gone since the listing). An item of ours is read with the desired resource
    it is, if it is one (an orphan needs no detail); one under a desired name that is not
    that resource is read as not owned."""
    found: dict[str, Observed] = {}
    for name, item, tags in listed:
        if tags is None:
            continue
        res = wanted.get(name)
        if ctx.owns(tags):
            mine = res if res is not None and res.logical_id == tags[TAG_ID] else None
            found[tags[TAG_ID]] = read(tags[TAG_ID], item, tags, mine)
        if res is not None and res.logical_id not in found:
            theirs = read(res.logical_id, item, tags, None)
            found[res.logical_id] = dataclasses.replace(theirs, owned=False)
    return found


def not_ours(kind: str, desired: Resource, code: str, message: str) -> TerminalError:
    """The refusal, for good, of a create that met someone else's resource of its name."""
    text = ERR_CREATE.format(kind=kind, logical_id=desired.logical_id, code=code, message=message)
    return TerminalError(text, code)
