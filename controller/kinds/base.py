"""The reconciler interface every AWS kind implements, and what they share.

Four verbs in the spirit of Crossplane's external client: observe (batched, by ownership
tag), create, update, delete. Each is idempotent and never blocks waiting for AWS: a
resource still becoming ready is observed with `ready=False` and the engine comes back on
the next run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from controller.aws.context import Context
from controller.errors import ERR_CREATE, AwsError, TerminalError, TransientError
from controller.kinds.descriptor import Descriptor
from controller.kinds.diff import diff as diff_of
from controller.kinds.errors import (
    COMMON_TERMINAL,
    error_code,
    error_message,
    ignoring,
    transient_on,
)
from controller.model import Diff, FieldChange, Observed, Resource


class Reconciler(Protocol):
    """The four verbs the engine calls, and the declarations it reads."""

    descriptor: ClassVar[Descriptor]

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]: ...
    def create(self, desired: Resource, ctx: Context) -> Observed: ...
    def update(
        self, desired: Resource, observed: Observed, diff: Diff, ctx: Context
    ) -> Observed: ...
    def delete(self, observed: Observed, ctx: Context) -> None: ...


class BaseReconciler:
    """Shared behaviour; a kind sets its codes and implements the four verbs.

    `observe` must return, keyed by logical id:
      - every resource of this kind tagged with a stack in `ctx.stacks` (including ones no
        longer desired, so they can be pruned or reported as orphans), and
      - for a desired resource with a fixed name (a bucket, a role), whatever exists under
        that name without this stack's tags, as `Observed(owned=False)`.
    It raises on any failed read: a failed read is never "absent".
    """

    # What the kind declares (controller/kinds/descriptor.py); `kind` is its name, for short.
    descriptor: ClassVar[Descriptor]
    kind: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "descriptor" in cls.__dict__:
            cls.kind = cls.descriptor.kind

    def observe(self, desired: Sequence[Resource], ctx: Context) -> dict[str, Observed]:
        raise NotImplementedError

    def create(self, desired: Resource, ctx: Context) -> Observed:
        raise NotImplementedError

    def update(self, desired: Resource, observed: Observed, diff: Diff, ctx: Context) -> Observed:
        raise NotImplementedError

    def delete(self, observed: Observed, ctx: Context) -> None:
        raise NotImplementedError

    def release(self, observed: Observed, ctx: Context) -> None:
        """Before the deletes of a run: drop what this resource holds of others (rules that
        name other security groups), so resources that refer to each other can all be
        deleted, in whatever order. Idempotent; most kinds hold nothing."""

    def warnings(self, desired: Resource, observed: Observed | None) -> list[str]:
        """Notes for the plan and report that are not drift (a secret with no value yet)."""
        return []

    def update_makes_new_id(self, changes: Sequence[FieldChange]) -> bool:
        """True when updating these fields makes a new version with a new id (a task
        definition's revision): until apply, what refers to it sees its attributes as
        unknown, so the plan shows their change too."""
        return False

    def physical_name(self, desired: Resource) -> str:
        """The name a create will use, written to the journal first; "" when AWS picks the id."""
        return ""

    def iam_name(self, desired: Resource) -> str:
        """The name `{name}` stands for in this kind's ARN templates ("" when AWS picks it)."""
        return self.physical_name(desired)

    # -- shared helpers --------------------------------------------------------------

    def observe_one(self, desired: Resource, ctx: Context, physical_id: str = "") -> Observed:
        """Read one resource back after a write; its absence now is an error, not news.
        A kind that can look a resource up by `physical_id` does so: cheaper than a filter."""
        found = self.observe([desired], ctx.only({desired.stack})).get(desired.logical_id)
        return self.must_see(found, desired)

    def find_own(self, desired: Resource, ctx: Context) -> Observed | None:
        """What carries this resource's ownership tags now (after a write whose answer was
        lost), or None; something of its name without them is not ours: None too."""
        found = self.observe([desired], ctx.only({desired.stack})).get(desired.logical_id)
        return found if found is not None and found.owned else None

    def adopt_own(self, desired: Resource, ctx: Context, err: Exception) -> Observed:
        """A create answered "already exists". A create of ours whose answer was lost left
        a resource carrying this resource's `plumb:id`: adopt it and bring it to the spec.
        Anything else under that name is someone else's and is never taken over: `err`."""
        found = self.find_own(desired, ctx)
        if found is None:
            raise err
        delta = diff_of(desired, found)
        return self.update(desired, found, delta, ctx) if delta else found

    def sync_tags(self, ctx: Context, target: str, observed: Observed, desired: Resource) -> None:
        """Bring `target`'s tags (an ARN, an id, a name: what the kind's tag API takes) from
        what was observed to what the resource wants, through the kind's declared tag API."""
        api = self.descriptor.tags
        if api is None:
            raise TypeError(f"{self.kind} declares no tag API (descriptor.tags)")
        client = ctx.client(self.descriptor.service)
        api.sync(client, target, observed.tags, desired.ownership_tags())

    @contextlib.contextmanager
    def deleting(self, waits_on: Iterable[str] = ()) -> Iterator[None]:
        """Around a delete: what is already gone is what was wanted (the kind's not-found
        codes); `waits_on` codes clear once something else is gone, and are retried."""
        with ignoring(self.descriptor.not_found_codes), transient_on(waits_on):
            yield

    def must_see(self, found: Observed | None, desired: Resource) -> Observed:
        """A read right after a write that misses the resource is an error, not news."""
        if found is None:
            raise TransientError(
                ERR_CREATE.format(
                    kind=self.kind,
                    logical_id=desired.logical_id,
                    code="NotVisible",
                    message="not visible after the write",
                )
            )
        return found

    def classify(self, err: BaseException) -> AwsError:
        """Turn a botocore error into a TerminalError (dependents stop) or a TransientError."""
        if isinstance(err, AwsError):
            return err
        code = error_code(err)
        message = error_message(err)
        declared = self.descriptor
        terminal = code in declared.terminal_codes | COMMON_TERMINAL
        if isinstance(err, ClientError) and terminal and code not in declared.transient_codes:
            return TerminalError(message, code)
        if isinstance(err, ClientError | BotoCoreError):
            return TransientError(message, code)
        # A bug or an unimplemented API (moto raises NotImplementedError in-process).
        return TerminalError(f"{type(err).__name__}: {err}", type(err).__name__)
