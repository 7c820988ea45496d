"""Tags as AWS spells them (lists of Key/Value pairs) and as plumb compares them (a dict)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TagApi:
    """How one service sets and removes a resource's tags: the calls, and how each spells
    the resource and the tags. `sync` is then the one tag sync every kind uses.

    add, remove     the client's methods ("tag_resource", "untag_resource")
    target          the parameter naming the resource ("resourceArn", "RoleName")
    many            it takes a list of resources (EC2's Resources, ELB's ResourceArns)
    tags_param      the parameter holding the tags to set ("Tags", "tags")
    key, value      how a tag's pair is spelled ("Key"/"Value"; ECS "key"/"value")
    as_map          the tags to set are a map, not a list of pairs (CloudWatch Logs)
    keys_param      the parameter holding the keys to remove ("TagKeys", "tagKeys")
    keys_as_pairs   the keys to remove are pairs with no value (EC2's DeleteTags)
    """

    add: str
    remove: str
    target: str
    many: bool = False
    tags_param: str = "Tags"
    key: str = "Key"
    value: str = "Value"
    as_map: bool = False
    keys_param: str = "TagKeys"
    keys_as_pairs: bool = False

    def sync(
        self, client: Any, target: str, have: Mapping[str, str], want: Mapping[str, str]
    ) -> None:
        """Set the missing and changed tags, remove the extra ones; `aws:` tags are left alone."""
        to_set, to_remove = tag_delta(have, want)
        where = {self.target: [target] if self.many else target}
        if to_set:
            tags = dict(to_set) if self.as_map else to_list(to_set, self.key, self.value)
            getattr(client, self.add)(**where, **{self.tags_param: tags})
        if to_remove:
            keys = [{self.key: k} for k in to_remove] if self.keys_as_pairs else to_remove
            getattr(client, self.remove)(**where, **{self.keys_param: keys})

    def as_dict(self, tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
        """Tags as this service lists them, as a dict."""
        return to_dict(tags, self.key, self.value)
