"""What the ElastiCache kinds share: their tag calls and the tag read.

ElastiCache lists resources without their tags and has no tag filter, so ownership costs
one ListTagsForResource per resource. Only resources that could be ours are read: a
desired name, or a name starting with a stack in scope (`_ownership.could_be_ours`, which
says the trade-off).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from controller.aws.context import Context
from controller.kinds.errors import ignoring
from controller.kinds.tags import TagApi, to_dict

SERVICE = "elasticache"
TAGS = TagApi("add_tags_to_resource", "remove_tags_from_resource", "ResourceName")
# A create that carries tags needs elasticache:AddTagsToResource as well.
TAG_ACTIONS = (
    "elasticache:AddTagsToResource",
    "elasticache:ListTagsForResource",
    "elasticache:RemoveTagsFromResource",
)

Raw = dict[str, Any]


def read_tags(ctx: Context, arn: str, gone: Collection[str]) -> dict[str, str] | None:
    """The resource's tags; None when it vanished since it was listed (codes in `gone`)."""
    with ignoring(gone):
        return to_dict(ctx.elasticache.list_tags_for_resource(ResourceName=arn).get("TagList"))
    return None
