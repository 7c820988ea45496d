"""A service's tag API, declared once: the calls `sync` makes in each service's spelling."""

from __future__ import annotations

from typing import Any

from controller.kinds.tags import TagApi

HAVE = {"plumb:id": "a", "old": "1", "keep": "same", "aws:cloudformation:stack-name": "x"}
WANT = {"plumb:id": "a", "keep": "same", "new": "2"}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda **kwargs: self.calls.append((name, kwargs))


def _sync(api: TagApi) -> list[tuple[str, dict[str, Any]]]:
    client = Recorder()
    api.sync(client, "target-1", HAVE, WANT)
    return client.calls


def test_pairs_by_arn() -> None:
    api = TagApi("add_tags_to_resource", "remove_tags_from_resource", "ResourceName")
    assert _sync(api) == [
        (
            "add_tags_to_resource",
            {"ResourceName": "target-1", "Tags": [{"Key": "new", "Value": "2"}]},
        ),
        ("remove_tags_from_resource", {"ResourceName": "target-1", "TagKeys": ["old"]}),
    ]


def test_many_targets_and_keys_as_pairs() -> None:
    api = TagApi(
        "create_tags", "delete_tags", "Resources", many=True, keys_param="Tags", keys_as_pairs=True
    )
    assert _sync(api) == [
        ("create_tags", {"Resources": ["target-1"], "Tags": [{"Key": "new", "Value": "2"}]}),
        ("delete_tags", {"Resources": ["target-1"], "Tags": [{"Key": "old"}]}),
    ]


def test_lower_case_pairs_and_a_map() -> None:
    ecs = TagApi(
        "tag_resource",
        "untag_resource",
        "resourceArn",
        tags_param="tags",
        key="key",
        value="value",
        keys_param="tagKeys",
    )
    logs = TagApi(
        "tag_resource",
        "untag_resource",
        "resourceArn",
        tags_param="tags",
        as_map=True,
        keys_param="tagKeys",
    )
    assert _sync(ecs)[0] == (
        "tag_resource",
        {"resourceArn": "target-1", "tags": [{"key": "new", "value": "2"}]},
    )
    assert _sync(logs)[0] == ("tag_resource", {"resourceArn": "target-1", "tags": {"new": "2"}})
    assert ecs.as_dict([{"key": "k", "value": "v"}]) == {"k": "v"}


def test_nothing_to_change_makes_no_call() -> None:
    client = Recorder()
    TagApi("tag_role", "untag_role", "RoleName").sync(client, "r", WANT, WANT)
    assert client.calls == []
