"""What a reconciler gets to talk to AWS: clients for one region, the stacks in scope, tags."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from controller.aws.retry_guard import client_token
from controller.model import TAG_ID, TAG_STACK, Resource

if TYPE_CHECKING:  # boto3 loads when a run starts, not when a kind is registered
    from controller.aws.clients import ClientFactory


# The calls the engine makes itself, whatever the kinds: `caller` below (references to
# `${account}` resolve through it, and each run records who acted). `plumb iam-policy`
# grants them beside the kinds'.
ENGINE_ACTIONS: tuple[str, ...] = ("sts:GetCallerIdentity",)


@functools.cache
def _services() -> frozenset[str]:
    """Every service boto3 has a client for: a kind names its own (`ctx.ec2`), so this
    module never lists them."""
    import boto3

    return frozenset(boto3.session.Session().get_available_services())


class Context:
    """One region's view of AWS for one run.

    `stacks` are the stacks this run manages; observation returns what those stacks own
    (and name conflicts for what they want), never anything else in the account.
    """

    def __init__(self, clients: ClientFactory, region: str, stacks: Iterable[str]) -> None:
        self.clients = clients
        self.region = region
        self.stacks = frozenset(stacks)

    def only(self, stacks: Iterable[str]) -> Context:
        """The same clients, scoped to fewer stacks: a read-back after one write need not
        list every stack of the run (that made a large first apply quadratic)."""
        narrowed = Context(self.clients, self.region, stacks)
        if "caller" in self.__dict__:
            narrowed.__dict__["caller"] = self.__dict__["caller"]
        return narrowed

    def client(self, service: str) -> Any:
        return self.clients.client(service, self.region)

    @staticmethod
    def client_token(limit: int = 64) -> str:
        """The idempotency token of the create attempt under way, cut to the API's limit
        (ECS takes 36 characters): every send of one attempt carries the same token, so a
        resend after a lost answer returns what the first send made."""
        return client_token(limit)

    def __getattr__(self, name: str) -> Any:
        # ctx.ec2, ctx.s3, ... read as plainly as the boto3 calls they wrap.
        if not name.startswith("_") and name in _services():
            return self.client(name)
        raise AttributeError(name)

    @functools.cached_property
    def caller(self) -> dict[str, str]:
        """Who plumb acts as: the account and the caller's ARN, asked once per run."""
        said = self.client("sts").get_caller_identity()
        return {"account": str(said["Account"]), "arn": str(said.get("Arn") or "")}

    @property
    def account_id(self) -> str:
        return self.caller["account"]

    @property
    def partition(self) -> str:
        return "aws-us-gov" if self.region.startswith("us-gov-") else "aws"

    # -- reading ---------------------------------------------------------------------

    def describe(self, service: str, operation: str, key: str, **kwargs: Any) -> list[Any]:
        """Every item of a (possibly paginated) list/describe call."""
        client = self.client(service)
        if client.can_paginate(operation):
            items: list[Any] = []
            for page in client.get_paginator(operation).paginate(**kwargs):
                items.extend(page.get(key, []))
            return items
        return list(client.__getattribute__(operation)(**kwargs).get(key, []))

    def owned_filter(self) -> list[dict[str, Any]]:
        """EC2-style filter for everything tagged by a stack in scope."""
        return [{"Name": f"tag:{TAG_STACK}", "Values": sorted(self.stacks)}]

    def owns(self, tags: dict[str, str]) -> bool:
        return tags.get(TAG_STACK) in self.stacks and bool(tags.get(TAG_ID))

    # -- writing ---------------------------------------------------------------------

    @staticmethod
    def tag_list(
        resource: Resource, key: str = "Key", value: str = "Value"
    ) -> list[dict[str, str]]:
        return [{key: k, value: v} for k, v in sorted(resource.ownership_tags().items())]

    def tag_specs(self, resource: Resource, resource_type: str) -> dict[str, Any]:
        """EC2's TagSpecifications, so a resource is never untagged, not even for a moment."""
        return {
            "TagSpecifications": [{"ResourceType": resource_type, "Tags": self.tag_list(resource)}]
        }
