"""What the ECS kinds share: tags as ECS spells them (lowercase key/value) and their sync."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.kinds.tags import tag_delta, to_dict, to_list

# ECS asks for ecs:TagResource on a create that carries tags, as well as for tag syncs.
TAG_ACTIONS = ("ecs:TagResource", "ecs:UntagResource")


def tags_of(item: Mapping[str, Any] | None) -> dict[str, str]:
    """The `tags` of a described ECS item (or a response's top-level `tags`) as a dict."""
    return to_dict((item or {}).get("tags"), "key", "value")


def sync_tags(ecs: Any, arn: str, have: Mapping[str, str], want: Mapping[str, str]) -> None:
    """Set the missing and changed tags, remove the extra ones; `aws:` tags are left alone."""
    to_set, to_remove = tag_delta(have, want)
    if to_set:
        ecs.tag_resource(resourceArn=arn, tags=to_list(to_set, "key", "value"))
    if to_remove:
        ecs.untag_resource(resourceArn=arn, tagKeys=to_remove)
