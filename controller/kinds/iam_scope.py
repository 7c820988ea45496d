"""Where a kind's IAM actions apply: the declarations `plumb iam-policy` is assembled from.

A kind's descriptor lists every action its verbs call (`Grants.actions`) and, in
`Grants.scopes`, the ARNs and conditions its writes are limited to. An action no scope
names is granted on Resource "*": that is for reads IAM cannot scope (Describe*, List*),
and for the few writes IAM offers no resource for, each listed with its reason in
`STAR_WRITES` (a test holds every other write to a scope).

ARN templates name what the specs decide with placeholders, filled in by `render`:
`{partition}`, `{region}`, `{account}`, `{name}` (this kind's resource names) and
`{name:Kind}` (another kind's, such as the role a task definition hands to ECS). Without
specs every placeholder is a wildcard; with them, names become patterns such as `acme-*`.

Conditions are named in `Scope.when` and spelled out by the engine (`conditions`), so
every kind scopes by plumb's ownership tags the same way:
  created          the create carries plumb:stack of a stack in scope (aws:RequestTag)
  owned            the resource already carries it (aws:ResourceTag): EC2, whose ARNs are ids
  keeps-ownership  a tag or untag call leaves plumb:stack and plumb:id alone (aws:TagKeys),
                   so a resource cannot be moved out of, or into, a stack by retagging
  retags-to-own    a tag call that sets plumb:stack sets it to a stack in scope
  bounded          a role write names plumb's permissions boundary (iam:PermissionsBoundary)
  passed-to        a role is handed only to the services the kind names (iam:PassedToService)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controller.model import TAG_ID, TAG_STACK

WILDCARD = "*"
_PLACEHOLDER = re.compile(r"\{(partition|region|account|name(?::[A-Za-z0-9]+)?)\}")
CONDITION_NAMES = frozenset(
    {"created", "owned", "keeps-ownership", "retags-to-own", "bounded", "passed-to"}
)

# Writes granted on Resource "*", each for a reason IAM's Service Authorization Reference
# gives: the action has no resource type, so no ARN or tag condition can narrow it.
STAR_WRITES: Mapping[str, str] = {
    "ecs:DeregisterTaskDefinition": (
        "IAM defines no resource type for it; a revision deregistered stays readable and "
        "a running service keeps it"
    ),
}


@dataclass(frozen=True)
class Scope:
    """Some of a kind's actions, on these ARN templates, under these named conditions.

    `create_action` names, for a tag call made as part of a create (EC2's CreateTags with
    TagSpecifications), the create it belongs to: `{service}:CreateAction` must be one."""

    actions: tuple[str, ...]
    arns: tuple[str, ...]
    when: tuple[str, ...] = ()
    create_action: tuple[str, ...] = field(default=())


def arn(service: str, resource: str, *, regional: bool = True) -> str:
    """An ARN template: arn("ec2", "vpc/*") -> "arn:{partition}:ec2:{region}:{account}:vpc/*"."""
    region = "{region}" if regional else ""
    return f"arn:{{partition}}:{service}:{region}:{{account}}:{resource}"


@dataclass(frozen=True)
class Target:
    """What placeholders become: wildcards (no specs), or what the specs name.

    `names` maps a kind to its name patterns; a kind it leaves out (or maps to ["*"]) has
    names the specs do not fix, so they stay a wildcard."""

    partition: str = "aws"
    region: str = WILDCARD
    account: str = WILDCARD
    names: Mapping[str, Sequence[str]] = field(default_factory=dict)
    stacks: tuple[str, ...] = (WILDCARD,)
    boundary: str = ""

    def names_of(self, kind: str) -> Sequence[str]:
        return self.names.get(kind) or (WILDCARD,)


def placeholders(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


def render(template: str, kind: str, target: Target) -> list[str]:
    """Every ARN a template stands for (several when a kind has several name patterns)."""
    out = [template]
    for found in placeholders(template):
        if found.startswith("name"):
            values = target.names_of(found.partition(":")[2] or kind)
        else:
            values = [str(getattr(target, found))]
        out = [done.replace("{" + found + "}", v, 1) for done in out for v in values]
    return sorted(set(out))


def conditions(scope: Scope, target: Target, services: Sequence[str]) -> dict[str, Any]:
    """The Condition block of a scope's statement; {} when it has none."""
    stacks = list(target.stacks)
    out: dict[str, dict[str, Any]] = {}

    def put(operator: str, key: str, values: Any) -> None:
        out.setdefault(operator, {})[key] = values

    for name in scope.when:
        if name == "created":
            put("StringLike", f"aws:RequestTag/{TAG_STACK}", stacks)
        elif name == "owned":
            put("StringLike", f"aws:ResourceTag/{TAG_STACK}", stacks)
        elif name == "keeps-ownership":
            put("ForAllValues:StringNotEquals", "aws:TagKeys", [TAG_ID, TAG_STACK])
        elif name == "retags-to-own":
            put("StringLikeIfExists", f"aws:RequestTag/{TAG_STACK}", stacks)
        elif name == "bounded" and target.boundary:
            put("StringEquals", "iam:PermissionsBoundary", target.boundary)
        elif name == "passed-to":
            put("StringEquals", "iam:PassedToService", sorted(services))
    if scope.create_action:
        prefix = scope.actions[0].split(":", 1)[0]
        put("StringEquals", f"{prefix}:CreateAction", sorted(scope.create_action))
    return out


def name_pattern(name: str, products: Sequence[str]) -> str:
    """A resource name as the policy names it: from the product on, a wildcard.

    "acme-prod-storage" -> "acme-*", "/ecs/acme-prod" -> "/ecs/acme-*",
    "acme/prod/key" -> "acme/*"; a name that holds no product stays as it is."""
    for product in sorted(products, key=len, reverse=True):
        found = re.search(rf"(^|/){re.escape(product)}([-/])", name)
        if found:
            return name[: found.end()] + WILDCARD
    return name


def partition_of(region: str) -> str:
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"


def tagging(tag: str, untag: str, arns: tuple[str, ...]) -> tuple[Scope, Scope]:
    """A name-scoped kind's tag writes: a tag call sets plumb:stack (at create) to a stack
    in scope only; an untag call never removes plumb:stack or plumb:id."""
    return Scope((tag,), arns, ("retags-to-own",)), Scope((untag,), arns, ("keeps-ownership",))


def but(actions: tuple[str, ...], *left_out: str) -> tuple[str, ...]:
    """`actions` without `left_out` (the reads IAM cannot scope, the tag calls scoped on
    their own); naming one `actions` lacks is a mistake, found at import."""
    missing = sorted(set(left_out) - set(actions))
    if missing:
        raise ValueError(f"not among the actions: {missing}")
    return tuple(a for a in actions if a not in left_out)
