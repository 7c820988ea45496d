"""The Environment composition: one spec expands, by a pure function, into managed resources.

This is the one place that names concrete kinds for a whole stack, which is why it lives
in `reconcilers/` and not in the engine. Each section of the spec has its own module.
"""

from __future__ import annotations

from controller.kinds.document import Document
from controller.kinds.registry import expander
from controller.model import Resource
from reconcilers.environment import app, checks, data, edge, identity, network, storage
from reconcilers.environment.view import StackView

__all__ = ["checks", "expand"]  # checks registers the Environment's semantic checks


@expander("Environment")
def expand(doc: Document) -> list[Resource]:
    """Every resource the Environment asks for; sections left out build nothing."""
    view = StackView(doc)
    return [
        *network.expand(view),
        *edge.expand(view),
        *app.expand(view),
        *data.expand(view),
        *storage.expand(view),
        *identity.expand(view),
    ]
