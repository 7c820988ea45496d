"""The S3 bucket kind: default encryption, public access block, lifecycle and bucket policy.

S3 cannot list buckets by tag, so observation is one ListBuckets and then a tag read for
each bucket that could be ours (see `_candidates` for the trade-off), plus one read per
managed sub-resource of each desired bucket (reconcilers/_bucket_config.py). A
sub-resource AWS reports as missing (NoSuchBucketPolicy, ...) reads as None for its field:
absent, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from controller.aws.context import Context
from controller.errors import TerminalError
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.errors import ignoring
from controller.kinds.iam_scope import Scope, but
from controller.kinds.registry import register
from controller.kinds.tags import to_dict, to_list, user_tags
from controller.model import TAG_ID, Diff, Observed, Resource
from reconcilers._bucket_config import READERS, WRITERS, read_or_none
from reconcilers._ownership import by_owner, not_ours, stack_prefixes

US_EAST_1 = "us-east-1"  # the one region whose CreateBucket refuses a LocationConstraint
_TAKEN = "BucketNotOwned"
# Buckets whose CreateBucket this process sent and has not tagged yet, by the create
# attempt's token: when that answer is lost, the resend meets an untagged bucket that is
# its own (nothing else could have made it between the tag read and the create), so it
# tags it rather than refusing it. A later run knows it from the journal instead.
_sent: dict[str, str] = {}

_ACTIONS = (
    "s3:ListAllMyBuckets",
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:GetBucketTagging",
    "s3:PutBucketTagging",
    "s3:GetEncryptionConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
    "s3:GetLifecycleConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
)


@register
class Bucket(BaseReconciler):
    """An S3 bucket with a fixed name, found by its ownership tags."""

    # No TagApi: PutBucketTagging sets the whole set at once (`_put_tags`).
    descriptor = Descriptor(
        "Bucket",
        "s3",
        not_found_codes=frozenset({"NoSuchBucket"}),
        terminal_codes=frozenset(
            {
                "BucketNotEmpty",  # plumb never empties a bucket on the user's behalf
                "BucketAlreadyOwnedByYou",
                "InvalidLocationConstraint",
                "IllegalLocationConstraintException",
                "TooManyBuckets",
                "MalformedXML",
            }
        ),
        stateful=True,
        name_scope="global",
        iam=Grants(
            actions=_ACTIONS,
            scopes=(Scope(but(_ACTIONS, "s3:ListAllMyBuckets"), ("arn:{partition}:s3:::{name}",)),),
        ),
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["bucketName"])

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        wanted = {str(r.spec["bucketName"]): r for r in desired}
        found: dict[str, Observed] = {}
        local: list[str] = []
        for name, region in _candidates(ctx, wanted):
            if region == ctx.region:
                local.append(name)
            elif name in wanted:
                # Only a desired name is worth a cross-region read: it is a conflict either way.
                note = f"bucket {name} exists in {region}"
                found[wanted[name].logical_id] = _elsewhere(wanted[name], name, region, note)
        listed = ((name, name, _read_tags(ctx.s3, name)) for name in local)
        return found | by_owner(ctx, listed, wanted, partial(_observe, ctx))

    def create(self, desired: Resource, ctx: Context) -> Observed:
        name = str(desired.spec["bucketName"])
        # In us-east-1 CreateBucket answers success for a bucket the account already holds,
        # so its answer cannot tell a new bucket from someone else's: the tags are read
        # first (one call, NoSuchBucket for a new name).
        token = ctx.client_token()
        if _read_tags(ctx.s3, name) is None:
            _sent[name] = token
            location = (
                {}
                if ctx.region == US_EAST_1
                else {"CreateBucketConfiguration": {"LocationConstraint": ctx.region}}
            )
            ctx.s3.create_bucket(Bucket=name, **location)
        elif _sent.get(name) != token:
            # Ours only when it carries this resource's tags (a create repeated after its
            # answer was lost); anything else of that name is never taken over.
            return self.adopt_own(desired, ctx, self._taken(desired, name))
        # Tags first: a crash after this line leaves a bucket the next run recognises as
        # its own and repairs as drift, not a bucket of that name it may never touch.
        _put_tags(ctx.s3, name, desired.ownership_tags())
        _sent.pop(name, None)
        for field, write in WRITERS.items():
            if field in desired.spec:
                write(ctx.s3, name, desired.spec[field])
        return _observed(
            desired.logical_id, name, dict(desired.spec), desired.ownership_tags(), ctx
        )

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        name = observed.physical_id
        for field, write in WRITERS.items():
            if field in desired.spec and diff.changed(field):
                write(ctx.s3, name, desired.spec[field])
        if diff.changed("tags"):
            _put_tags(ctx.s3, name, desired.ownership_tags())
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # An empty bucket only: BucketNotEmpty is terminal and the data stays.
        with self.deleting():
            ctx.s3.delete_bucket(Bucket=observed.physical_id)

    def _taken(self, desired: Resource, name: str) -> TerminalError:
        message = (
            f"bucket {name} already exists without this resource's {TAG_ID} tag; plumb "
            "never takes over a bucket it did not create: give the spec another bucketName"
        )
        return not_ours(self.kind, desired, _TAKEN, message)


# -- observing ------------------------------------------------------------------------


def _candidates(ctx: Context, wanted: Mapping[str, Resource]) -> list[tuple[str, str]]:
    """(name, region) of the listed buckets whose tags are worth reading.

    ListBuckets gives names only, and S3 has no tag filter, so every tag read is one call.
    plumb names its buckets "{stack}-..." (the Environment's is "{stack}-storage"), so the
    tags of a bucket are read only when its name is desired or starts with a stack in
    scope. Trade-off: a Bucket written directly in a spec under a name that does not start
    with its stack is not found as an orphan once it leaves the spec (it is never deleted
    by mistake, only forgotten). The Resource Groups Tagging API would find every tagged
    bucket in one call, but it is eventually consistent: a bucket tagged a moment ago could
    be missed, and plumb would then plan to create a bucket that already exists.
    """
    prefixes = stack_prefixes(ctx)
    out: list[tuple[str, str]] = []
    for bucket in ctx.describe("s3", "list_buckets", "Buckets"):
        name = str(bucket["Name"])
        # AWS reports BucketRegion; moto does not, and then the bucket counts as local.
        region = str(bucket.get("BucketRegion") or ctx.region)
        if name in wanted or (name.startswith(prefixes) and region == ctx.region):
            out.append((name, region))
    return out


def _read_tags(s3: Any, name: str) -> dict[str, str] | None:
    """The bucket's tags ({} when it has none), or None when the bucket is gone."""
    with ignoring({"NoSuchBucket"}):
        out = read_or_none(s3.get_bucket_tagging, Bucket=name)
        return to_dict(out["TagSet"]) if out else {}
    return None


def _observe(
    ctx: Context, logical_id: str, name: str, tags: dict[str, str], desired: Resource | None
) -> Observed:
    """Reads only the sub-resources the desired spec manages; an orphan needs none."""
    spec: dict[str, Any] = {"bucketName": name}
    for field, read in READERS.items():
        if desired is not None and field in desired.spec:
            spec[field] = read(ctx.s3, name)
    return _observed(logical_id, name, spec, tags, ctx)


def _observed(
    logical_id: str, name: str, spec: dict[str, Any], tags: Mapping[str, str], ctx: Context
) -> Observed:
    return Observed(
        kind=Bucket.kind,
        logical_id=logical_id,
        physical_id=name,
        spec=spec,
        attrs=_attrs(name, ctx.region, ctx.partition),
        tags=dict(tags),
        region=ctx.region,
    )


def _elsewhere(desired: Resource, name: str, region: str, note: str) -> Observed:
    """A desired name held in another region: a conflict whoever holds it."""
    partition = "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return Observed(
        kind=Bucket.kind,
        logical_id=desired.logical_id,
        physical_id=name,
        spec={"bucketName": name},
        attrs=_attrs(name, region, partition),
        owned=False,
        region=region,
        warnings=(note,),
    )


def _attrs(name: str, region: str, partition: str) -> dict[str, str]:
    return {
        "id": name,
        "name": name,
        "arn": f"arn:{partition}:s3:::{name}",
        "regionalDomainName": f"{name}.s3.{region}.amazonaws.com",
    }


# -- writing: one call per field group ------------------------------------------------


def _put_tags(s3: Any, name: str, tags: Mapping[str, str]) -> None:
    # PutBucketTagging replaces the whole set, so one call both adds and removes.
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": to_list(user_tags(tags))})
