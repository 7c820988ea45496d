"""What the ECS kinds share: the service's tag calls (tags as ECS spells them: lowercase
key/value pairs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.kinds.tags import TagApi

SERVICE = "ecs"
TAGS = TagApi(
    "tag_resource",
    "untag_resource",
    "resourceArn",
    tags_param="tags",
    key="key",
    value="value",
    keys_param="tagKeys",
)
# ECS asks for ecs:TagResource on a create that carries tags, as well as for tag syncs.
TAG_ACTIONS = ("ecs:TagResource", "ecs:UntagResource")
# ECS makes its service-linked role on an account's first cluster or service.
ECS_ROLE = ("ecs.amazonaws.com",)


def tags_of(item: Mapping[str, Any] | None) -> dict[str, str]:
    """The `tags` of a described ECS item (or a response's top-level `tags`) as a dict."""
    return TAGS.as_dict((item or {}).get("tags"))
