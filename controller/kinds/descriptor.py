"""What a kind declares about itself, in one place: its descriptor.

The engine reads a kind's descriptor (never the kind's code) for everything it decides
without calling AWS: how to classify the kind's errors, the order of deletes, what may be
replaced, where a name must be unique, what `plumb iam-policy` grants, and how tags are
set. A kind's module builds one `Descriptor` and its reconciler class holds it:

    descriptor = Descriptor(
        "LogGroup", "logs",
        not_found_codes=frozenset({"ResourceNotFoundException"}),
        iam=Grants(actions=..., scopes=...),
        tags=TagApi.arn_keyed(...),
    )

The next capabilities add their declarations here too (a service's request budget, the
health a kind reports, the rules a physical name follows for adoption), so a kind keeps
one place that says what it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from controller.kinds.iam_scope import Scope
from controller.kinds.tags import TagApi

# Where a physical name must be unique: "region" (a secret, a repository), "account" (an
# IAM role), "global" (an S3 bucket), "" when a parent scopes it (a security group in its
# VPC). Two stacks claiming one name are refused at validation.
NameScope = Literal["region", "account", "global", ""]


@dataclass(frozen=True)
class Grants:
    """The IAM a kind's verbs need; `plumb iam-policy` is assembled from these, and the
    conformance suite fails on any call it sees a kind make that they do not cover.

    actions               as IAM spells them ("elasticloadbalancing:AddTags")
    scopes                where they apply (controller/kinds/iam_scope.py); an action in no
                          scope is granted on Resource "*", for reads and justified writes
    passes_roles_to       services its creates hand a role to: iam:PassRole for those only
    service_linked_roles  services whose service-linked role AWS makes on a first create
    role_boundary         for a kind that makes roles: the most any may be allowed, printed
                          as the permissions boundary plumb puts on them
    """

    actions: tuple[str, ...] = ()
    scopes: tuple[Scope, ...] = ()
    passes_roles_to: tuple[str, ...] = ()
    service_linked_roles: tuple[str, ...] = ()
    role_boundary: tuple[str, ...] = ()


@dataclass(frozen=True)
class Descriptor:
    """A kind's declarations.

    kind             the spec's `kind`, unique in the registry
    service          the boto3 service its calls go to ("logs"); its tag calls use it
    not_found_codes  what AWS answers for a resource that is gone (a delete ignores them)
    terminal_codes   codes that retrying cannot help, beyond the common ones
    transient_codes  codes to retry although they read as terminal (AWS's eventual
                     consistency answers InvalidParameterValue for a subnet just made)
    stateful         holds data (a bucket, a database): never replaced or deleted without
                     an allowance
    requires         kinds its resources point at (a subnet needs its VPC): orders the
                     deletes of resources that left the spec, when no desired edge shows it
    name_scope       where its physical name must be unique (see NameScope)
    iam              the IAM its verbs need
    tags             how its service sets and removes tags (None: the kind tags its own way)
    """

    kind: str
    service: str
    not_found_codes: frozenset[str] = frozenset()
    terminal_codes: frozenset[str] = frozenset()
    transient_codes: frozenset[str] = frozenset()
    stateful: bool = False
    requires: tuple[str, ...] = ()
    name_scope: NameScope = "region"
    iam: Grants = Grants()
    tags: TagApi | None = None
