"""The ECS task definition kind: one Fargate container, registered as immutable revisions.

The peers' most reported false diff lives here (terraform #17737, pulumi-aws #1985: a task
definition re-registered on every run). What makes it risky, and where it is handled:
  - ECS fills in container fields the spec never set (cpu 0, mountPoints, volumesFrom,
    systemControls, ...) and reorders lists. `_to_spec` projects the container back onto
    the spec's shape ONLY (environment and secrets as dicts, the port of the one mapping,
    the awslogs options), so nothing ECS adds is ever compared.
  - Revisions are immutable. A change registers ONE new revision carrying the desired spec
    and tags, then deregisters the revision it replaces (`update`); a change of tags only
    tags the current revision and registers nothing.
  - ECS cannot list task definitions by tag: observe is one ListTaskDefinitionFamilies
    (ACTIVE), then DescribeTaskDefinition (latest ACTIVE revision, with tags) for families
    that are desired or named "{stack}-..."; ownership is decided on the tags. A desired
    family whose latest revision lacks our tags is someone else's: `owned=False`.
  - RegisterTaskDefinition adds a revision to ANY family, someone else's too, and the
    family would then read as ours. So a create first lists the family's ACTIVE revisions
    (one ListTaskDefinitions) and refuses, for good, a family holding revisions of which
    none carries this resource's tags; a delete deregisters only revisions that do.
  - RegisterTaskDefinition takes no client token; a register whose answer was lost leaves
    a tagged revision that the next observe adopts (an extra revision is harmless).
moto returned deregistered revisions by family and listed dead families; both are patched
to answer as AWS does (plumb_embedded/moto_compat/ecs.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controller.aws.context import Context
from controller.errors import TerminalError
from controller.kinds.base import BaseReconciler
from controller.kinds.descriptor import Descriptor, Grants
from controller.kinds.errors import ignoring
from controller.kinds.iam_scope import Scope, tagging
from controller.kinds.iam_scope import arn as iam_arn
from controller.kinds.registry import register
from controller.model import TAG_ID, TAG_STACK, Diff, FieldChange, Observed, Resource
from reconcilers._ecs import SERVICE, TAGS, tags_of
from reconcilers._ecs import TAG_ACTIONS as ECS_TAGS
from reconcilers._ownership import could_be_ours, not_ours

Raw = Mapping[str, Any]
# Fixed for every task definition plumb registers; not in the spec.
FARGATE = {
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
}

_FAMILY = iam_arn("ecs", "task-definition/{name}:*")


@register
class TaskDefinition(BaseReconciler):
    """A task definition family, observed through its latest ACTIVE revision."""

    descriptor = Descriptor(
        "TaskDefinition",
        SERVICE,
        # ECS answers a revision that does not exist (or no longer) with ClientException.
        not_found_codes=frozenset({"ClientException"}),
        terminal_codes=frozenset({"ClientException"}),
        # Deleted before the role it runs as.
        requires=("Role", "LogGroup", "Secret"),
        iam=Grants(
            actions=(
                "ecs:ListTaskDefinitionFamilies",
                "ecs:ListTaskDefinitions",
                "ecs:DescribeTaskDefinition",
                "ecs:RegisterTaskDefinition",
                "ecs:DeregisterTaskDefinition",
                *ECS_TAGS,
                "iam:PassRole",
            ),
            scopes=(
                Scope(("ecs:RegisterTaskDefinition",), (_FAMILY,)),
                *tagging("ecs:TagResource", "ecs:UntagResource", (_FAMILY,)),
                # Only roles plumb made (under /plumb/), and only to ECS tasks.
                Scope(
                    ("iam:PassRole",),
                    (iam_arn("iam", "role/plumb/{name:Role}", regional=False),),
                    ("passed-to",),
                ),
            ),
            # Registering a revision hands its task and execution roles to ECS tasks.
            passes_roles_to=("ecs-tasks.amazonaws.com",),
        ),
        tags=TAGS,
    )

    def physical_name(self, desired: Resource) -> str:
        return str(desired.spec["family"])

    def update_makes_new_id(self, changes: Sequence[FieldChange]) -> bool:
        # Anything but the tags registers a new revision, and the service must follow it.
        return any(c.path != "tags" for c in changes)

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        wanted = {r.spec["family"]: r for r in desired if isinstance(r.spec.get("family"), str)}
        families = ctx.describe("ecs", "list_task_definition_families", "families", status="ACTIVE")
        latest = [
            _describe(ctx, family)
            for family in sorted(set(families))
            if could_be_ours(ctx, family, wanted)
        ]
        found: dict[str, Observed] = {}
        for td, tags in latest:
            if ctx.owns(tags) and _preferred(found.get(tags[TAG_ID]), td, wanted):
                found[tags[TAG_ID]] = _observed(tags[TAG_ID], td, tags, ctx)
        for td, tags in latest:
            res = wanted.get(td["family"])
            if res is not None and res.logical_id not in found:
                # Not ours, whatever its tags say of another stack: never taken over.
                found[res.logical_id] = _observed(res.logical_id, td, tags, ctx, owned=False)
        return found

    def create(self, desired: Resource, ctx: Context) -> Observed:
        family = self.physical_name(desired)
        owner = _owner(desired.stack, desired.logical_id)
        # Newest first: after a lost answer our own revision is the first one read.
        held = _active_arns(ctx, family)
        if held and not any(_is_of(owner, _tags_at(ctx, arn)) for arn in held):
            raise self._not_owned(desired, family)
        return self._register(desired, ctx)

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        if any(change.path != "tags" for change in diff.changes):
            # The new revision carries the desired tags too: nothing left to tag after it.
            fresh = self._register(desired, ctx)
            _deregister(ctx, observed.attrs["arn"])
            return fresh
        if diff.changed("tags"):
            self.sync_tags(ctx, observed.attrs["arn"], observed, desired)
        return self.observe_one(desired, ctx)

    def delete(self, observed: Observed, ctx: Context) -> None:
        owner = _owner(observed.stack, observed.logical_id)
        for arn in _active_arns(ctx, observed.physical_id):
            # The observed revision's tags are already read; any other is read before it goes,
            # so a revision someone registered into the family by hand is left to them.
            same = arn == observed.attrs.get("arn")
            if _is_of(owner, observed.tags if same else _tags_at(ctx, arn)):
                _deregister(ctx, arn)

    def _register(self, desired: Resource, ctx: Context) -> Observed:
        out = ctx.ecs.register_task_definition(**register_args(desired, ctx))
        return _observed(desired.logical_id, out["taskDefinition"], desired.ownership_tags(), ctx)

    def _not_owned(self, desired: Resource, family: str) -> TerminalError:
        code = "FamilyNotOwned"
        message = (
            f"task definition family {family} exists and is not this resource's (no active "
            f"revision tagged {TAG_ID}={desired.logical_id}); plumb never registers into a "
            "family it did not create: rename the family or deregister the others by hand"
        )
        return not_ours(self.kind, desired, code, message)


# -- reading ----------------------------------------------------------------------------


def _describe(ctx: Context, family: str) -> tuple[Raw, dict[str, str]]:
    """The family's latest ACTIVE revision and its tags; a failure is raised, never absent."""
    out = ctx.ecs.describe_task_definition(taskDefinition=family, include=["TAGS"])
    return out["taskDefinition"], tags_of(out)


def _preferred(current: Observed | None, td: Raw, wanted: Mapping[str, Resource]) -> bool:
    """Two families carrying one logical id (during a replace): the desired family wins."""
    if current is None:
        return True
    return td["family"] in wanted and current.physical_id not in wanted


def _family_of(arn: str) -> str:
    return arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def _active_arns(ctx: Context, family: str) -> list[str]:
    """The ARNs of the family's ACTIVE revisions, newest first."""
    arns = ctx.describe(
        "ecs", "list_task_definitions", "taskDefinitionArns", familyPrefix=family, status="ACTIVE"
    )
    # familyPrefix names a family, but only revisions of exactly this one are its.
    mine = [arn for arn in arns if _family_of(arn) == family]
    return sorted(mine, key=lambda arn: int(arn.rsplit(":", 1)[-1]), reverse=True)


def _tags_at(ctx: Context, arn: str) -> dict[str, str]:
    """One revision's tags (named by its ARN, it is described whatever its status)."""
    return tags_of(ctx.ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"]))


def _owner(stack: str, logical_id: str) -> dict[str, str]:
    return {TAG_STACK: stack, TAG_ID: logical_id}


def _is_of(owner: Mapping[str, str], tags: Mapping[str, str]) -> bool:
    """Whether a revision carries this resource's ownership tags (its stack and id)."""
    return all(value and tags.get(key) == value for key, value in owner.items())


def _to_spec(td: Raw) -> dict[str, Any]:
    """The revision on the spec's shape, and nothing else ECS reports."""
    container = (td.get("containerDefinitions") or [{}])[0]
    ports = container.get("portMappings") or [{}]
    options = (container.get("logConfiguration") or {}).get("options") or {}
    return {
        "family": td["family"],
        "cpu": td.get("cpu"),
        "memory": td.get("memory"),
        "executionRoleArn": td.get("executionRoleArn"),
        "taskRoleArn": td.get("taskRoleArn"),
        "container": {
            "name": container.get("name"),
            "image": container.get("image"),
            "port": ports[0].get("containerPort"),
            "environment": {
                e["name"]: e.get("value", "") for e in container.get("environment") or []
            },
            "secrets": {s["name"]: s["valueFrom"] for s in container.get("secrets") or []},
            "logGroup": options.get("awslogs-group"),
            "logStreamPrefix": options.get("awslogs-stream-prefix"),
        },
    }


def _observed(
    logical_id: str, td: Raw, tags: Mapping[str, str], ctx: Context, owned: bool = True
) -> Observed:
    arn = td["taskDefinitionArn"]
    return Observed(
        kind=TaskDefinition.kind,
        logical_id=logical_id,
        physical_id=td["family"],
        spec=_to_spec(td),
        attrs={"id": arn, "arn": arn, "family": td["family"], "revision": td["revision"]},
        tags=dict(tags),
        owned=owned,
        region=ctx.region,
    )


# -- writing ----------------------------------------------------------------------------


def register_args(desired: Resource, ctx: Context) -> dict[str, Any]:
    """RegisterTaskDefinition's arguments: the spec, the fixed Fargate settings, the tags."""
    spec = desired.spec
    args: dict[str, Any] = {
        "family": spec["family"],
        "cpu": str(spec["cpu"]),
        "memory": str(spec["memory"]),
        **FARGATE,
        "containerDefinitions": [_container(spec["container"], ctx.region)],
        "tags": ctx.tag_list(desired, "key", "value"),
    }
    for role in ("executionRoleArn", "taskRoleArn"):
        if spec.get(role):
            args[role] = spec[role]
    return args


def _container(spec: Mapping[str, Any], region: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": spec["name"], "image": spec["image"], "essential": True}
    if spec.get("port") is not None:
        out["portMappings"] = [{"containerPort": int(spec["port"]), "protocol": "tcp"}]
    env = spec.get("environment") or {}
    out["environment"] = [{"name": k, "value": str(v)} for k, v in sorted(env.items())]
    secrets = spec.get("secrets") or {}
    if secrets:
        out["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())]
    if spec.get("logGroup"):
        options = {
            "awslogs-group": spec["logGroup"],
            "awslogs-region": region,
            "awslogs-stream-prefix": spec["logStreamPrefix"],
        }
        out["logConfiguration"] = {"logDriver": "awslogs", "options": options}
    return out


def _deregister(ctx: Context, arn: str) -> None:
    with ignoring(TaskDefinition.descriptor.not_found_codes):
        ctx.ecs.deregister_task_definition(taskDefinition=arn)
