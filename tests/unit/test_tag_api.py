"""A service's tag API, declared once: the calls `sync` makes in each service's spelling,
for the tag APIs the kinds declare."""

from __future__ import annotations

from typing import Any

from controller.kinds.registry import reconciler_for
from controller.kinds.tags import TagApi

HAVE = {"plumb:id": "a", "old": "1", "keep": "same", "aws:cloudformation:stack-name": "x"}
WANT = {"plumb:id": "a", "keep": "same", "new": "2"}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda **kwargs: self.calls.append((name, kwargs))


def _api(kind: str) -> TagApi:
    api = reconciler_for(kind).descriptor.tags
    assert api is not None, f"{kind} declares no tag API"
    return api


def _sync(api: TagApi) -> list[tuple[str, dict[str, Any]]]:
    client = Recorder()
    api.sync(client, "target-1", HAVE, WANT)
    return client.calls


def test_pairs_by_arn() -> None:
    assert _sync(_api("DocDbCluster")) == [
        (
            "add_tags_to_resource",
            {"ResourceName": "target-1", "Tags": [{"Key": "new", "Value": "2"}]},
        ),
        ("remove_tags_from_resource", {"ResourceName": "target-1", "TagKeys": ["old"]}),
    ]


def test_many_targets_and_keys_as_pairs() -> None:
    assert _sync(_api("Vpc")) == [
        ("create_tags", {"Resources": ["target-1"], "Tags": [{"Key": "new", "Value": "2"}]}),
        ("delete_tags", {"Resources": ["target-1"], "Tags": [{"Key": "old"}]}),
    ]


def test_lower_case_pairs_and_a_map() -> None:
    ecs, logs = _api("EcsCluster"), _api("LogGroup")
    assert _sync(ecs) == [
        ("tag_resource", {"resourceArn": "target-1", "tags": [{"key": "new", "value": "2"}]}),
        ("untag_resource", {"resourceArn": "target-1", "tagKeys": ["old"]}),
    ]
    assert _sync(logs)[0] == ("tag_resource", {"resourceArn": "target-1", "tags": {"new": "2"}})
    assert ecs.as_dict([{"key": "k", "value": "v"}]) == {"k": "v"}


def test_nothing_to_change_makes_no_call() -> None:
    client = Recorder()
    _api("Role").sync(client, "r", WANT, WANT)
    assert client.calls == []
