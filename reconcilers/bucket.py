"""The S3 bucket kind: default encryption, public access block, lifecycle and bucket policy.

S3 cannot list buckets by tag, so observation is one ListBuckets and then a tag read for
each bucket that could be ours (see `_candidates` for the trade-off), plus one read per
managed sub-resource of each desired bucket. A sub-resource AWS reports as missing
(NoSuchBucketPolicy, ...) reads as None for its field: absent, not an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.errors import ERR_CREATE, TerminalError
from controller.kinds.base import BaseReconciler
from controller.kinds.errors import error_code, ignoring
from controller.kinds.iam_scope import Scope, but
from controller.kinds.registry import register
from controller.kinds.tags import to_dict, to_list, user_tags
from controller.model import TAG_ID, Diff, Observed, Resource

# The one lifecycle rule plumb writes; rules with other ids belong to someone else.
RULE_ID = "plumb-expire"
US_EAST_1 = "us-east-1"  # the one region whose CreateBucket refuses a LocationConstraint
_TAKEN = "BucketNotOwned"
# Buckets whose CreateBucket this process sent and has not tagged yet, by the create
# attempt's token: when that answer is lost, the resend meets an untagged bucket that is
# its own (nothing else could have made it between the tag read and the create), so it
# tags it rather than refusing it. A later run knows it from the journal instead.
_sent: dict[str, str] = {}

_ABSENT = frozenset(
    {
        "NoSuchTagSet",
        "NoSuchLifecycleConfiguration",
        "NoSuchBucketPolicy",
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchPublicAccessBlockConfiguration",
    }
)
_PUBLIC_ACCESS = {
    "blockPublicAcls": "BlockPublicAcls",
    "ignorePublicAcls": "IgnorePublicAcls",
    "blockPublicPolicy": "BlockPublicPolicy",
    "restrictPublicBuckets": "RestrictPublicBuckets",
}


@register
class Bucket(BaseReconciler):
    """An S3 bucket with a fixed name, found by its ownership tags."""

    kind = "Bucket"
    iam_actions = (
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
    iam_scopes = (Scope(but(iam_actions, "s3:ListAllMyBuckets"), ("arn:{partition}:s3:::{name}",)),)
    name_scope = "global"
    stateful = True
    not_found_codes = frozenset({"NoSuchBucket"})
    terminal_codes = frozenset(
        {
            "BucketNotEmpty",  # plumb never empties a bucket on the user's behalf
            "BucketAlreadyOwnedByYou",
            "InvalidLocationConstraint",
            "IllegalLocationConstraintException",
            "TooManyBuckets",
            "MalformedXML",
        }
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["bucketName"])

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        wanted = {str(r.spec["bucketName"]): r for r in desired}
        found: dict[str, Observed] = {}
        for name, region in _candidates(ctx, wanted):
            res = wanted.get(name)
            if region != ctx.region and res is not None:
                # Only a desired name is worth a cross-region read: it is a conflict either way.
                found[res.logical_id] = _foreign(
                    res, name, {}, region, f"bucket {name} exists in {region}"
                )
                continue
            tags = _read_tags(ctx.s3, name)
            if tags is None:
                continue  # deleted between the listing and the tag read
            if ctx.owns(tags):
                mine = res if res is not None and res.logical_id == tags[TAG_ID] else None
                found[tags[TAG_ID]] = _observe_owned(ctx, name, tags, mine)
            if res is not None and res.logical_id not in found:
                found[res.logical_id] = _foreign(res, name, tags, region)
        return found

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
        for field, write in _WRITERS.items():
            if field in desired.spec:
                write(ctx.s3, name, desired.spec[field])
        return _observed(
            desired.logical_id, name, dict(desired.spec), desired.ownership_tags(), ctx
        )

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        name = observed.physical_id
        for field, write in _WRITERS.items():
            if field in desired.spec and diff.changed(field):
                write(ctx.s3, name, desired.spec[field])
        if diff.changed("tags"):
            _put_tags(ctx.s3, name, desired.ownership_tags())
        return self.observe_one(desired, ctx, observed.physical_id)

    def delete(self, observed: Observed, ctx: Context) -> None:
        # An empty bucket only: BucketNotEmpty is terminal and the data stays.
        with ignoring(self.not_found_codes):
            ctx.s3.delete_bucket(Bucket=observed.physical_id)

    def _taken(self, desired: Resource, name: str) -> TerminalError:
        message = (
            f"bucket {name} already exists without this resource's {TAG_ID} tag; plumb "
            "never takes over a bucket it did not create: give the spec another bucketName"
        )
        return TerminalError(
            ERR_CREATE.format(
                kind=self.kind, logical_id=desired.logical_id, code=_TAKEN, message=message
            ),
            _TAKEN,
        )


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
    prefixes = tuple(f"{stack}-" for stack in sorted(ctx.stacks))
    out: list[tuple[str, str]] = []
    for bucket in ctx.describe("s3", "list_buckets", "Buckets"):
        name = str(bucket["Name"])
        # AWS reports BucketRegion; moto does not, and then the bucket counts as local.
        region = str(bucket.get("BucketRegion") or ctx.region)
        if name in wanted or (name.startswith(prefixes) and region == ctx.region):
            out.append((name, region))
    return out


def _get(call: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any] | None:
    """The response of a sub-resource read, or None when AWS says it is not configured."""
    try:
        return call(**kwargs)
    except ClientError as err:
        if error_code(err) in _ABSENT:
            return None
        raise


def _read_tags(s3: Any, name: str) -> dict[str, str] | None:
    """The bucket's tags ({} when it has none), or None when the bucket is gone."""
    try:
        out = _get(s3.get_bucket_tagging, Bucket=name)
    except ClientError as err:
        if error_code(err) == "NoSuchBucket":
            return None
        raise
    return to_dict(out["TagSet"]) if out else {}


def _read_encryption(s3: Any, name: str) -> dict[str, Any] | None:
    out = _get(s3.get_bucket_encryption, Bucket=name)
    rules = (out or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    if not rules:
        return None
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {})
    spec: dict[str, Any] = {"algorithm": default.get("SSEAlgorithm")}
    if default.get("KMSMasterKeyID"):
        spec["kmsKeyId"] = default["KMSMasterKeyID"]
    return spec


def _read_public_access(s3: Any, name: str) -> dict[str, bool] | None:
    out = _get(s3.get_public_access_block, Bucket=name)
    if out is None:
        return None
    config = out.get("PublicAccessBlockConfiguration", {})
    return {field: bool(config.get(key, False)) for field, key in _PUBLIC_ACCESS.items()}


def _lifecycle_rules(s3: Any, name: str) -> list[dict[str, Any]]:
    out = _get(s3.get_bucket_lifecycle_configuration, Bucket=name)
    return list((out or {}).get("Rules", []))


def _read_lifecycle(s3: Any, name: str) -> dict[str, Any] | None:
    """{"expireAfterDays": N} while plumb's rule is in force as written, plus "otherRules"
    naming every rule plumb did not write (each one is drift: plumb owns the lifecycle)."""
    rules = _lifecycle_rules(s3, name)
    if not rules:
        return None
    out: dict[str, Any] = {"expireAfterDays": None}
    rule = next((r for r in rules if r.get("ID") == RULE_ID), None)
    if rule is not None:
        # A rule narrowed by hand (a prefix, a tag, a size) no longer expires everything.
        scope = rule.get("Filter", {})
        whole = not rule.get("Prefix") and set(scope) <= {"Prefix"} and not scope.get("Prefix")
        in_force = rule.get("Status") == "Enabled" and whole
        out["expireAfterDays"] = rule.get("Expiration", {}).get("Days") if in_force else None
    others = [_describe_rule(r) for r in rules if r.get("ID") != RULE_ID]
    if others:
        out["otherRules"] = sorted(others)
    return out


def _describe_rule(rule: Mapping[str, Any]) -> str:
    """ "hand-7 (Enabled: expires after 7 days)": enough to recognize a rule in a plan."""
    what = []
    if rule.get("Expiration", {}).get("Days"):
        what.append(f"expires after {rule['Expiration']['Days']} days")
    if rule.get("Transitions"):
        what.append("transitions")
    if rule.get("NoncurrentVersionExpiration"):
        what.append("expires noncurrent versions")
    if rule.get("AbortIncompleteMultipartUpload"):
        what.append("aborts incomplete uploads")
    return (
        f"{rule.get('ID') or '(no id)'} ({rule.get('Status', '?')}: {', '.join(what) or 'other'})"
    )


def _read_policy(s3: Any, name: str) -> Any:
    out = _get(s3.get_bucket_policy, Bucket=name)
    return json.loads(out["Policy"]) if out else None


_READERS: dict[str, Callable[[Any, str], Any]] = {
    "encryption": _read_encryption,
    "publicAccessBlock": _read_public_access,
    "lifecycle": _read_lifecycle,
    "policy": _read_policy,
}


def _observe_owned(
    ctx: Context, name: str, tags: dict[str, str], desired: Resource | None
) -> Observed:
    """Reads only the sub-resources the desired spec manages; an orphan needs none."""
    spec: dict[str, Any] = {"bucketName": name}
    for field, read in _READERS.items():
        if desired is not None and field in desired.spec:
            spec[field] = read(ctx.s3, name)
    return _observed(tags[TAG_ID], name, spec, tags, ctx)


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


def _foreign(
    desired: Resource, name: str, tags: dict[str, str], region: str, note: str = ""
) -> Observed:
    partition = "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return Observed(
        kind=Bucket.kind,
        logical_id=desired.logical_id,
        physical_id=name,
        spec={"bucketName": name},
        attrs=_attrs(name, region, partition),
        tags=tags,
        owned=False,
        region=region,
        warnings=(note,) if note else (),
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


def _put_encryption(s3: Any, name: str, spec: Mapping[str, Any]) -> None:
    default: dict[str, str] = {"SSEAlgorithm": str(spec["algorithm"])}
    if spec.get("kmsKeyId"):
        default["KMSMasterKeyID"] = str(spec["kmsKeyId"])
    rules = [{"ApplyServerSideEncryptionByDefault": default}]
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})


def _put_public_access(s3: Any, name: str, spec: Mapping[str, Any]) -> None:
    config = {key: bool(spec.get(field, True)) for field, key in _PUBLIC_ACCESS.items()}
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=config)


def _put_lifecycle(s3: Any, name: str, spec: Mapping[str, Any]) -> None:
    """Writes plumb's rule as the whole configuration: S3 replaces the set in one call, so
    rules plumb did not write go with it."""
    rule = {
        "ID": RULE_ID,
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "Expiration": {"Days": int(spec["expireAfterDays"])},
    }
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [rule]})


def _put_policy(s3: Any, name: str, policy: Any) -> None:
    document = policy if isinstance(policy, str) else json.dumps(policy)
    s3.put_bucket_policy(Bucket=name, Policy=document)


# Order matters on create: block public access before a policy is attached.
_WRITERS: dict[str, Callable[[Any, str, Any], None]] = {
    "encryption": _put_encryption,
    "publicAccessBlock": _put_public_access,
    "lifecycle": _put_lifecycle,
    "policy": _put_policy,
}
