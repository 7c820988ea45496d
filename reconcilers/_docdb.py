"""What the DocumentDB kinds share: one paginated describe per kind, tags read only for
the resources that could be ours, ownership decided on those tags client-side, one way to
read an item, to create it (adopting its own resource after a lost answer) and to update
it, and the service's tag calls.

DocumentDB's describe calls take no tag filter (a `tag:` filter is InvalidParameterValue
in AWS and in moto: docs/moto.md, DocumentDB). Clusters and instances are described
through the RDS API, whose responses carry their tags; a subnet group's tags cost one
ListTagsForResource. Only candidates are read: the names a
desired resource asks for, and names that start with "{stack}-" for a stack in scope
(plumb names everything it makes "{stack}-..."). Trade-off: resources of other stacks and
of other tools in the account cost nothing to observe, but a DocDB resource written
directly in a spec under a name that does not start with its stack is not found as an
orphan once it leaves the spec.

AWS keeps DocumentDB names (subnet groups, cluster and instance identifiers) in lower
case, so names are compared in lower case and the schemas accept lower case only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.errors import ERR_CREATE, TerminalError, TransientError
from controller.kinds.base import BaseReconciler
from controller.kinds.diff import diff as diff_of
from controller.kinds.errors import error_code, is_code
from controller.kinds.tags import TagApi, to_dict
from controller.model import TAG_ID, Diff, Observed, Resource
from reconcilers._ownership import could_be_ours

Raw = Mapping[str, Any]
SERVICE = ENGINE = "docdb"
TAGS = TagApi("add_tags_to_resource", "remove_tags_from_resource", "ResourceName")
# Clusters and instances being deleted are absent: they cannot come back.
GONE = frozenset({"deleting"})
ENGINE_FILTER = [{"Name": "engine", "Values": [ENGINE]}]
# DocumentDB's API is RDS's under another name: IAM knows its actions as rds:*.
TAG_ACTIONS = ("rds:AddTagsToResource", "rds:ListTagsForResource", "rds:RemoveTagsFromResource")
# Clusters and instances: RDS makes its service-linked role on an account's first create.
RDS_ROLE = ("rds.amazonaws.com",)
# A tag read of something deleted since the describe: it is gone, not a failed read.
_TAG_READ_GONE = frozenset(
    {
        "DBClusterNotFoundFault",
        "DBInstanceNotFound",
        "DBSubnetGroupNotFoundFault",
        "ResourceNotFoundFault",
    }
)


class DocDbKind(BaseReconciler):
    """A DocumentDB kind read with one `describe_*` call; subclasses map one item
    (`spec_of`, `attrs_of`), build its create (`create_args`) and its modify
    (`modifications`)."""

    describe_op: ClassVar[str]  # "describe_db_clusters"
    # Clusters and instances are read through the RDS API: the same endpoint and IAM
    # actions, but its model keeps the TagList that DocumentDB's drops, which saves one
    # ListTagsForResource per resource. Subnet groups carry no tags in either.
    read_service: ClassVar[str] = "docdb"
    list_key: ClassVar[str]  # "DBClusters"
    name_key: ClassVar[str]  # "DBClusterIdentifier": the describe item's name
    arn_key: ClassVar[str]  # "DBClusterArn"
    status_key: ClassVar[str] = ""  # "Status"; "" for a kind with no life cycle
    serving: ClassVar[frozenset[str]] = frozenset()  # the statuses that are ready
    name_field: ClassVar[str]  # "clusterIdentifier": the spec field holding the name
    exists_code: ClassVar[str]  # what a create over an existing name answers
    create_op: ClassVar[str]  # "create_db_cluster"
    item_key: ClassVar[str]  # "DBCluster": the created item in the create's answer
    modify_op: ClassVar[str]  # "modify_db_cluster"
    apply_now: ClassVar[bool] = True  # a modify takes ApplyImmediately
    filters: ClassVar[list[dict[str, Any]] | None] = None

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec[self.name_field]).lower()

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        return self._observe(ctx, self._describe(ctx), desired)

    def observe_one(self, desired: Resource, ctx: Context, physical_id: str = "") -> Observed:
        """After a write: the one resource by its name, not the whole listing."""
        return self.must_see(self._lookup(desired, ctx, physical_id), desired)

    def to_observed(
        self, raw: Raw, tags: Mapping[str, str], logical_id: str, ctx: Context
    ) -> Observed:
        return Observed(
            kind=self.kind,
            logical_id=logical_id,
            physical_id=str(raw[self.name_key]),
            spec=self.spec_of(raw),
            attrs=self.attrs_of(raw),
            tags=dict(tags),
            ready=not self.status_key or raw.get(self.status_key) in self.serving,
            region=ctx.region,
        )

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        raise NotImplementedError

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        raise NotImplementedError

    def create_args(self, desired: Resource, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

    def modifications(self, desired: Resource, observed: Observed, diff: Diff) -> dict[str, Any]:
        """The arguments of the kind's one modify call for what drifted, tags aside ({}: no
        call)."""
        raise NotImplementedError

    def create(self, desired: Resource, ctx: Context) -> Observed:
        """Tagged in the create call. A create whose answer was lost may have happened:
        "already exists" for a resource carrying this resource's `plumb:id` is that
        create, and is adopted."""
        try:
            out = getattr(ctx.docdb, self.create_op)(**self.create_args(desired, ctx))
        except ClientError as err:
            if error_code(err) != self.exists_code:
                raise
            return self._adopt(desired, ctx, err)
        tags = desired.ownership_tags()
        return self.to_observed(out[self.item_key], tags, desired.logical_id, ctx)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        changes = self.modifications(desired, observed, diff)
        if changes:
            # ApplyImmediately: waiting for the maintenance window would show the same
            # drift on every run until then.
            now = {"ApplyImmediately": True} if self.apply_now else {}
            modify = getattr(ctx.docdb, self.modify_op)
            modify(**{self.name_key: observed.physical_id}, **now, **changes)
        if diff.changed("tags"):
            self.sync_tags(ctx, observed.attrs["arn"], observed, desired)
        return self.observe_one(desired, ctx, observed.physical_id)

    # -- observing ---------------------------------------------------------------------

    def _lookup(self, desired: Resource, ctx: Context, name: str = "") -> Observed | None:
        """What holds the desired name (ours or not), or None; one describe by name."""
        try:
            items = self._describe(ctx, name or self.physical_name(desired))
        except ClientError as err:
            if not is_code(err, self.descriptor.not_found_codes):
                raise
            items = []
        return self._observe(ctx, items, [desired]).get(desired.logical_id)

    def _describe(self, ctx: Context, name: str = "") -> list[Raw]:
        kwargs: dict[str, Any] = {self.name_key: name} if name else {}
        if self.filters is not None:
            kwargs["Filters"] = self.filters
        return ctx.describe(self.read_service, self.describe_op, self.list_key, **kwargs)

    def _observe(
        self, ctx: Context, items: Sequence[Raw], desired: Sequence[Resource]
    ) -> dict[str, Observed]:
        """Ours first, by `plumb:id`; then, for a desired name not found as ours, whatever
        holds that name, as not owned (never taken over)."""
        wanted = {self.physical_name(r): r for r in desired}
        live = [r for r in items if not self.status_key or r.get(self.status_key) not in GONE]
        tagged = [
            (raw, tags)
            for raw in candidates(ctx, live, self.name_key, wanted)
            if (tags := read_tags(ctx, raw, self.arn_key)) is not None
        ]
        found: dict[str, Observed] = {}
        for lid, group in sorted(_owned_groups(ctx, tagged).items()):
            found[lid] = self._pick(lid, group, wanted, ctx)
        for raw, tags in tagged:
            res = wanted.get(str(raw[self.name_key]).lower())
            if res is not None and res.logical_id not in found:
                theirs = self.to_observed(raw, tags, res.logical_id, ctx)
                found[res.logical_id] = dataclasses.replace(theirs, owned=False)
        return found

    def _pick(
        self,
        lid: str,
        group: list[tuple[Raw, dict[str, str]]],
        wanted: Mapping[str, Resource],
        ctx: Context,
    ) -> Observed:
        """One resource per logical id: the one under the desired name, else the first
        by name, so the choice is stable; the others are named in a warning."""
        names = {str(raw[self.name_key]).lower(): (raw, tags) for raw, tags in group}
        want = next((n for n, r in wanted.items() if r.logical_id == lid and n in names), "")
        chosen = want or sorted(names)[0]
        raw, tags = names[chosen]
        found = self.to_observed(raw, tags, lid, ctx)
        others = sorted(set(names) - {chosen})
        if not others:
            return found
        warning = (
            f"{', '.join(others)} also carry {TAG_ID}={lid}; plumb manages {chosen} only: "
            "delete the others by hand"
        )
        return dataclasses.replace(found, warnings=(*found.warnings, warning))

    # -- adopting ---------------------------------------------------------------------

    def _adopt(self, desired: Resource, ctx: Context, err: ClientError) -> Observed:
        name = self.physical_name(desired)
        code = error_code(err)
        found = self._lookup(desired, ctx)

        def refuse(error: type[TerminalError | TransientError], why: str) -> Exception:
            text = ERR_CREATE.format(
                kind=self.kind, logical_id=desired.logical_id, code=code, message=why
            )
            return error(text, code)

        if found is None:
            raise refuse(TransientError, f"{name} exists but is being deleted; try again")
        if not found.owned or found.physical_id != name:
            raise refuse(
                TerminalError,
                f"{name} exists and is not this resource's (no {TAG_ID}={desired.logical_id} "
                "tag): rename the resource or remove the other one by hand",
            )
        delta = diff_of(desired, found)
        if delta and not delta.needs_replace:
            return self.update(desired, found, delta, ctx)
        return found


def candidates(
    ctx: Context, items: Sequence[Raw], name_key: str, wanted: Mapping[str, Resource]
) -> list[Raw]:
    """Items worth a tag read: desired names and names starting with "{stack}-"."""
    return [raw for raw in items if could_be_ours(ctx, str(raw[name_key]).lower(), wanted)]


def read_tags(ctx: Context, raw: Raw, arn_key: str) -> dict[str, str] | None:
    """The item's tags: its TagList when the response carries one, else one read; None
    when it was deleted since it was listed."""
    if "TagList" in raw:
        return to_dict(raw["TagList"])
    try:
        out = ctx.docdb.list_tags_for_resource(ResourceName=raw[arn_key])
    except ClientError as err:
        if is_code(err, _TAG_READ_GONE):
            return None
        raise
    return to_dict(out.get("TagList"))


def _owned_groups(
    ctx: Context, tagged: Sequence[tuple[Raw, dict[str, str]]]
) -> dict[str, list[tuple[Raw, dict[str, str]]]]:
    groups: dict[str, list[tuple[Raw, dict[str, str]]]] = {}
    for raw, tags in tagged:
        if ctx.owns(tags):
            groups.setdefault(tags[TAG_ID], []).append((raw, tags))
    return groups
