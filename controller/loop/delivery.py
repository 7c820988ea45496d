"""What a signed webhook delivery asks of the loop: a cycle, a pong, or nothing, and why.

A signature says who sent a delivery, not what it is about. A hook subscribed to more than
pushes (issues, pull requests, releases) is signed with the same secret, and a push may
be of a tag or of another branch; none of them changes the commit plumb converges to, so
none makes a cycle (each one costs AWS calls). They are acknowledged with a 2xx, so GitHub
shows them delivered rather than failed, and counted by outcome. Only a push to the branch
plumb watches makes a cycle, and not one that deletes the branch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from controller.loop.webhook import safe_token

EVENT_HEADER = "X-GitHub-Event"

CYCLE, PING = "cycle", "ping"
OTHER_EVENT, OTHER_BRANCH, TAG, BRANCH_DELETED = (
    "other-event",
    "other-branch",
    "tag",
    "branch-deleted",
)
NO_EVENT, BAD_BODY = "no-event", "bad-body"
OUTCOMES = (CYCLE, PING, OTHER_EVENT, OTHER_BRANCH, TAG, BRANCH_DELETED, NO_EVENT, BAD_BODY)


@dataclass(frozen=True)
class Verdict:
    """The answer to one signed delivery: its HTTP status, its outcome (the metric's
    label), the words for the sender, and whether it makes a cycle."""

    status: int
    outcome: str
    words: str
    cycle: bool = False

    def body(self) -> dict[str, Any]:
        if self.status >= 400:
            return {"error": self.words, "reason": self.outcome}
        return {"message": self.words, "outcome": self.outcome, "cycle": self.cycle}


def judge(event: str, body: bytes, branch: str) -> Verdict:
    """What the delivery of `event` with this (signed) body asks, for a loop on `branch`."""
    watched = f"refs/heads/{branch}"
    if not event.strip():
        return Verdict(400, NO_EVENT, f"a delivery names its event in {EVENT_HEADER}")
    payload = _json_object(body)
    if payload is None:
        return Verdict(
            400, BAD_BODY, "the body is not a JSON object: set the webhook's content type "
            "to application/json",
        )  # fmt: skip
    if event == "ping":  # sent when the hook is created
        return Verdict(200, PING, "pong: the webhook reaches plumb")
    if event != "push":
        return Verdict(
            200, OTHER_EVENT, f"no cycle: plumb syncs on a push to {watched}, "
            f"not on a {safe_token(event)!r} event",
        )  # fmt: skip
    ref = payload.get("ref")
    if not isinstance(ref, str):
        return Verdict(400, BAD_BODY, "a push names its ref in the body's 'ref'")
    if ref.startswith("refs/tags/"):
        return Verdict(200, TAG, f"no cycle: a tag was pushed; plumb syncs {watched}")
    if ref != watched:
        return Verdict(
            200, OTHER_BRANCH, f"no cycle: a push to {safe_token(ref)!r}; plumb syncs {watched}"
        )
    if payload.get("deleted") is True:
        return Verdict(200, BRANCH_DELETED, f"no cycle: {watched} was deleted")
    return Verdict(202, CYCLE, "sync queued: a cycle starts once the current one ends", True)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past Python's depth
        return None
    return payload if isinstance(payload, dict) else None
