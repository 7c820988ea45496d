"""Each kind's IAM scopes against IAM's own definition of its actions (parliament's copy of
the Service Authorization Reference): moto evaluates neither resources nor conditions, so
this is what shows a scoped action can be allowed at all. An ARN must be of a resource
type the action supports; a condition key, one the action or that type supports."""

from __future__ import annotations

import re

import pytest

from controller.kinds import iam_policy, registry
from controller.kinds.iam_scope import STAR_WRITES, Scope, Target, conditions, render
from tests.unit.iam_data import access_level, arn_formats, condition_keys

registry.load_all()
KINDS = sorted(registry.REGISTRY)
TARGET = Target(boundary="arn:aws:iam::123456789012:policy/plumb-boundary")


def _generic_key(key: str) -> str:
    """ "aws:RequestTag/plumb:stack" -> "aws:RequestTag/${TagKey}", as IAM lists it."""
    return re.sub(r"(Tag)/.+$", r"\1/${TagKey}", key)


def _resource_type(action: str, resource: str) -> str:
    sample = resource.replace("*", "x1").replace("?", "x")
    for rtype, pattern in arn_formats(action).items():
        if re.fullmatch(pattern, sample):
            return rtype
    raise AssertionError(f"{action} supports no resource like {resource}: {arn_formats(action)}")


def _problems(kind: str, scope: Scope) -> list[str]:
    rec = registry.REGISTRY[kind]
    keys = {
        _generic_key(k)
        for inner in conditions(scope, TARGET, rec.descriptor.iam.passes_roles_to).values()
        for k in inner
    }
    out = []
    for action in scope.actions:
        for template in scope.arns:
            for resource in render(template, kind, TARGET):
                rtype = _resource_type(action, resource)
                missing = keys - condition_keys(action, rtype)
                if missing:
                    out.append(f"{action} on {rtype} cannot test {sorted(missing)}")
    return out


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_scopes_are_what_iam_supports(kind: str) -> None:
    problems = [
        p for scope in registry.REGISTRY[kind].descriptor.iam.scopes for p in _problems(kind, scope)
    ]
    assert not problems, problems


@pytest.mark.parametrize("kind", KINDS, ids=KINDS)
def test_what_a_kind_leaves_on_star_is_a_read_or_justified(kind: str) -> None:
    rec = registry.REGISTRY[kind]
    iam_policy.check(rec)
    scoped = {a for scope in rec.descriptor.iam.scopes for a in scope.actions}
    loose = [
        a
        for a in sorted(set(rec.descriptor.iam.actions) - scoped)
        if access_level(a) not in ("Read", "List") and a not in STAR_WRITES
    ]
    assert not loose, f"{kind} leaves writes on '*': {loose}"


def test_a_scope_iam_does_not_support_is_caught() -> None:
    """The check can fail: a bucket ARN for a role write, a tag condition S3 ignores."""
    wrong_arn = Scope(("iam:CreateRole",), ("arn:{partition}:s3:::{name}",))
    with pytest.raises(AssertionError, match="supports no resource"):
        _problems("Role", wrong_arn)
    wrong_key = Scope(("s3:PutBucketPolicy",), ("arn:{partition}:s3:::{name}",), ("owned",))
    assert _problems("Bucket", wrong_key) == [
        "s3:PutBucketPolicy on bucket cannot test ['aws:ResourceTag/${TagKey}']"
    ]
