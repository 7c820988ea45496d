"""A bucket's configuration S3 keeps apart from it: default encryption, the public access
block, the lifecycle and the bucket policy, each read (None when AWS says it is not
configured: absent, not an error) and written whole, one call per field group."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from controller.kinds.errors import ignoring

# The one lifecycle rule plumb writes; rules with other ids belong to someone else.
RULE_ID = "plumb-expire"
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


def read_or_none(call: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any] | None:
    """The response of a sub-resource read, or None when AWS says it is not configured."""
    with ignoring(_ABSENT):
        return call(**kwargs)
    return None


def _read_encryption(s3: Any, name: str) -> dict[str, Any] | None:
    out = read_or_none(s3.get_bucket_encryption, Bucket=name)
    rules = (out or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    if not rules:
        return None
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {})
    spec: dict[str, Any] = {"algorithm": default.get("SSEAlgorithm")}
    if default.get("KMSMasterKeyID"):
        spec["kmsKeyId"] = default["KMSMasterKeyID"]
    return spec


def _read_public_access(s3: Any, name: str) -> dict[str, bool] | None:
    out = read_or_none(s3.get_public_access_block, Bucket=name)
    if out is None:
        return None
    config = out.get("PublicAccessBlockConfiguration", {})
    return {field: bool(config.get(key, False)) for field, key in _PUBLIC_ACCESS.items()}


def _lifecycle_rules(s3: Any, name: str) -> list[dict[str, Any]]:
    out = read_or_none(s3.get_bucket_lifecycle_configuration, Bucket=name)
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
    out = read_or_none(s3.get_bucket_policy, Bucket=name)
    return json.loads(out["Policy"]) if out else None


READERS: dict[str, Callable[[Any, str], Any]] = {
    "encryption": _read_encryption,
    "publicAccessBlock": _read_public_access,
    "lifecycle": _read_lifecycle,
    "policy": _read_policy,
}


def _put_encryption(s3: Any, name: str, spec: Mapping[str, Any]) -> None:
    default: dict[str, str] = {"SSEAlgorithm": str(spec["algorithm"])}
    if spec.get("kmsKeyId"):
        default["KMSMasterKeyID"] = str(spec["kmsKeyId"])
    rules = [{"ApplyServerSideEncryptionByDefault": default}]
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})


def _put_public_access(s3: Any, name: str, spec: Mapping[str, Any]) -> None:
    config = {key: bool(spec[field]) for field, key in _PUBLIC_ACCESS.items()}
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
WRITERS: dict[str, Callable[[Any, str, Any], None]] = {
    "encryption": _put_encryption,
    "publicAccessBlock": _put_public_access,
    "lifecycle": _put_lifecycle,
    "policy": _put_policy,
}
