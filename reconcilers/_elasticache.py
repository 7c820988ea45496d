"""What the ElastiCache kinds share: which resources are worth a tag read, and tags.

ElastiCache lists resources without their tags and has no tag filter, so ownership costs
one ListTagsForResource per resource. Only resources that could be ours are read: a
desired name, or a name starting with a stack in scope ("{stack}-...", as plumb names
them). The trade-off: a resource written directly in a spec under a name that does not
start with its stack is not found as an orphan once it leaves the spec.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.kinds.errors import error_code
from controller.kinds.tags import tag_delta, to_dict, to_list

# A create that carries tags needs elasticache:AddTagsToResource as well.
TAG_ACTIONS = (
    "elasticache:AddTagsToResource",
    "elasticache:ListTagsForResource",
    "elasticache:RemoveTagsFromResource",
)

Raw = dict[str, Any]


def candidates(
    ctx: Context, items: Iterable[Raw], name_key: str, wanted: Collection[str]
) -> list[Raw]:
    """The listed items worth a tag read: desired by name, or named "{stack}-..."."""
    prefixes = tuple(f"{stack}-" for stack in sorted(ctx.stacks))
    return [i for i in items if i[name_key] in wanted or str(i[name_key]).startswith(prefixes)]


def read_tags(ctx: Context, arn: str, gone: Collection[str]) -> dict[str, str] | None:
    """The resource's tags; None when it vanished since it was listed (codes in `gone`)."""
    try:
        out = ctx.elasticache.list_tags_for_resource(ResourceName=arn)
    except ClientError as err:
        if error_code(err) in gone:
            return None
        raise
    return to_dict(out.get("TagList"))


def sync_tags(ctx: Context, arn: str, have: Mapping[str, str], want: Mapping[str, str]) -> None:
    to_set, to_remove = tag_delta(have, want)
    if to_set:
        ctx.elasticache.add_tags_to_resource(ResourceName=arn, Tags=to_list(to_set))
    if to_remove:
        ctx.elasticache.remove_tags_from_resource(ResourceName=arn, TagKeys=to_remove)
