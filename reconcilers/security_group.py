"""The security group kind: name, description and VPC (immutable), and every ingress and
egress rule, each direction managed as a set.

A rule is `{protocol, fromPort, toPort, cidr | sourceGroupId, description}`, one peer per
rule (AWS groups several peers under one IpPermission; they are flattened here). Because
egress is managed, the allow-all egress AWS gives every new group is revoked unless the
spec asks for it, and a rule added by hand in either direction is revoked.

Revokes send the rule exactly as AWS reported it, description included: moto only matches
a group-pair rule when its description is repeated (docs/moto.md, Security group rules),
and AWS accepts it.
All groups of all stacks in scope are read with one DescribeSecurityGroups.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.context import Context
from controller.kinds.descriptor import Descriptor
from controller.kinds.errors import error_code, ignoring
from controller.kinds.iam_scope import Scope
from controller.kinds.registry import register
from controller.model import Diff, Observed, Resource
from reconcilers._ec2 import SERVICE, TAGS, Ec2Kind, Raw, ec2_arn, grants

Rule = Mapping[str, Any]
DIRECTIONS = ("ingress", "egress")
# What AWS puts on a new group in a VPC without IPv6.
AWS_DEFAULT_EGRESS: Rule = {"protocol": "-1", "cidr": "0.0.0.0/0"}
# Peer: AWS list in an IpPermission, its id field, and the spec field.
_PEERS = (
    ("IpRanges", "CidrIp", "cidr"),
    ("Ipv6Ranges", "CidrIpv6", "cidrIpv6"),
    ("PrefixListIds", "PrefixListId", "prefixListId"),
    ("UserIdGroupPairs", "GroupId", "sourceGroupId"),
)
_AUTHORIZE = ("ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress")
_ACTIONS = (
    "ec2:DescribeSecurityGroups",
    "ec2:CreateSecurityGroup",
    "ec2:DeleteSecurityGroup",
    *_AUTHORIZE,
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
)


@register
class SecurityGroup(Ec2Kind):
    """A VPC security group with a fixed name, found by its ownership tags."""

    descriptor = Descriptor(
        "SecurityGroup",
        SERVICE,
        not_found_codes=frozenset({"InvalidGroup.NotFound", "InvalidGroupId.NotFound"}),
        terminal_codes=frozenset(
            {
                # The name is taken in the VPC by a group plumb does not own.
                "InvalidGroup.Duplicate",
                "SecurityGroupLimitExceeded",
                "RulesPerSecurityGroupLimitExceeded",
                "InvalidPermission.Malformed",
            }
        ),
        requires=("Vpc",),
        name_scope="",
        iam=grants(
            "security-group",
            "ec2:CreateSecurityGroup",
            _ACTIONS,
            # A rule is a new resource of the group the owned scope holds to its owner.
            Scope(_AUTHORIZE, (ec2_arn("security-group-rule"),)),
            parents=("vpc",),
        ),
        tags=TAGS,
    )
    describe_op, list_key, id_key = "describe_security_groups", "SecurityGroups", "GroupId"

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["groupName"])

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        found = super().observe(desired, ctx)
        return {**_name_conflicts(self, ctx, desired, found), **found}

    def spec_of(self, raw: Raw) -> dict[str, Any]:
        return {
            "groupName": raw["GroupName"],
            "description": raw.get("Description", ""),
            "vpcId": raw.get("VpcId"),
            "ingress": _rules(raw.get("IpPermissions") or ()),
            "egress": _rules(raw.get("IpPermissionsEgress") or ()),
        }

    def attrs_of(self, raw: Raw) -> dict[str, Any]:
        attrs = {"id": raw["GroupId"], "name": raw["GroupName"], "vpcId": raw.get("VpcId")}
        if raw.get("SecurityGroupArn"):
            attrs["arn"] = raw["SecurityGroupArn"]
        return attrs

    def create(self, desired: Resource, ctx: Context) -> Observed:
        spec = desired.spec
        try:
            out = ctx.ec2.create_security_group(
                GroupName=spec["groupName"],
                Description=spec["description"],
                VpcId=spec["vpcId"],
                **ctx.tag_specs(desired, "security-group"),
            )
        except ClientError as err:
            if error_code(err) != "InvalidGroup.Duplicate":
                raise
            # A retried create meeting its own group (the first answer was lost) adopts it.
            return self.adopt_own(desired, ctx, err)
        group_id = out["GroupId"]
        want = {d: list(spec[d]) for d in DIRECTIONS}
        _sync_rules(ctx.ec2, group_id, "ingress", [], want["ingress"])
        # Assumed, not read back (a read right after the create may not see the group yet);
        # the next observation catches anything AWS added that this does not expect.
        _sync_rules(ctx.ec2, group_id, "egress", [AWS_DEFAULT_EGRESS], want["egress"])
        raw = {
            "GroupId": group_id,
            "GroupName": spec["groupName"],
            "VpcId": spec["vpcId"],
            "SecurityGroupArn": out.get("SecurityGroupArn"),
        }
        made = {k: spec[k] for k in ("groupName", "description", "vpcId")}
        return self.created(desired, ctx, raw, {**made, **want})

    def modify(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> None:
        for direction in DIRECTIONS:
            if diff.changed(direction):
                have = observed.spec.get(direction) or []
                _sync_rules(ctx.ec2, observed.physical_id, direction, have, desired.spec[direction])

    def release(self, observed: Observed, ctx: Context) -> None:
        # Rules that name other groups: while they stand, AWS refuses to delete those groups.
        for direction in DIRECTIONS:
            for rule in observed.spec.get(direction) or ():
                if "sourceGroupId" in rule:
                    # Either group may be gone already.
                    with ignoring(self.descriptor.not_found_codes):
                        _revoke(ctx.ec2, observed.physical_id, direction, [rule])

    def delete(self, observed: Observed, ctx: Context) -> None:
        # A group still named by another group's rule, or still used by a network
        # interface, fails with DependencyViolation until those are gone.
        self.release(observed, ctx)
        with self.deleting():
            ctx.ec2.delete_security_group(GroupId=observed.physical_id)


# -- observing ------------------------------------------------------------------------


def _rules(permissions: Sequence[Raw]) -> list[dict[str, Any]]:
    """One spec rule per peer of each IpPermission, sorted so the output is stable."""
    out = []
    for perm in permissions:
        base: dict[str, Any] = {"protocol": str(perm["IpProtocol"])}
        if perm.get("FromPort") is not None and base["protocol"] != "-1":
            base["fromPort"] = int(perm["FromPort"])
            base["toPort"] = int(perm["ToPort"])
        for aws_list, aws_key, spec_key in _PEERS:
            for peer in perm.get(aws_list) or ():
                rule = {**base, spec_key: str(peer[aws_key])}
                if peer.get("Description"):
                    rule["description"] = str(peer["Description"])
                out.append(rule)
    return sorted(out, key=_canonical)


def _name_conflicts(
    kind: SecurityGroup, ctx: Context, desired: Sequence[Resource], found: Mapping[str, Observed]
) -> dict[str, Observed]:
    """Groups that hold a desired name in the desired VPC without being that resource.

    Only read when a desired group is missing and its VPC is already known, so a no-op run
    costs nothing here.
    """
    missing = {
        (r.spec.get("groupName"), r.spec.get("vpcId")): r
        for r in desired
        if r.logical_id not in found and isinstance(r.spec.get("vpcId"), str)
    }
    if not missing:
        return {}
    names = sorted({str(name) for name, _ in missing})
    groups = ctx.describe(
        "ec2",
        "describe_security_groups",
        "SecurityGroups",
        Filters=[{"Name": "group-name", "Values": names}],
    )
    out: dict[str, Observed] = {}
    for raw in groups:
        res = missing.get((raw["GroupName"], raw.get("VpcId")))
        if res is not None:
            foreign = kind._to_observed(raw, ctx, res.logical_id)
            out[res.logical_id] = dataclasses.replace(foreign, owned=False)
    return out


# -- writing --------------------------------------------------------------------------


def _sync_rules(
    ec2: Any, group_id: str, direction: str, have: Sequence[Rule], want: Sequence[Rule]
) -> None:
    """Revoke the extra rules, then authorize the missing ones: one call each at most.

    Revoking first lets a rule whose only change is its description be replaced (an
    authorize of the same peer would be a duplicate).
    """
    have_by = {_canonical(r): r for r in have}
    want_by = {_canonical(r): r for r in want}
    _revoke(ec2, group_id, direction, [r for k, r in have_by.items() if k not in want_by])
    missing = [r for k, r in want_by.items() if k not in have_by]
    if missing:
        authorize = (
            ec2.authorize_security_group_ingress
            if direction == "ingress"
            else ec2.authorize_security_group_egress
        )
        authorize(GroupId=group_id, IpPermissions=[_permission(r) for r in missing])


def _revoke(ec2: Any, group_id: str, direction: str, rules: Sequence[Rule]) -> None:
    if not rules:
        return
    revoke = (
        ec2.revoke_security_group_ingress
        if direction == "ingress"
        else ec2.revoke_security_group_egress
    )
    # Already gone (revoked by hand since the observation) is what was wanted.
    with ignoring({"InvalidPermission.NotFound"}):
        revoke(GroupId=group_id, IpPermissions=[_permission(r) for r in rules])


def _permission(rule: Rule) -> dict[str, Any]:
    perm: dict[str, Any] = {"IpProtocol": str(rule["protocol"])}
    if "fromPort" in rule:
        perm["FromPort"] = int(rule["fromPort"])
        perm["ToPort"] = int(rule["toPort"])
    for aws_list, aws_key, spec_key in _PEERS:
        if spec_key in rule:
            peer = {aws_key: str(rule[spec_key])}
            if rule.get("description"):
                peer["Description"] = str(rule["description"])
            perm[aws_list] = [peer]
    return perm


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
