"""Credentials anywhere in a spec: shapes that are keys or tokens wherever they appear.

A spec is committed to git, copied into plans and reports, and its tags are written onto
every resource; a key that reaches one of them has leaked. Every string of every document,
keys included, is checked against shapes that are credentials and nothing else (an AWS
access key id, a private key block, a provider's token prefix, a URL with a password). The
looser heuristics (long hex, random-looking text) stay with the fields that must hold a
secret's name, where a false alarm costs nothing: an image tag may well be a commit hash.
No message ever quotes what it found.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from controller.specs.document import Path

_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b")),
    (
        "an AWS secret access key",
        re.compile(r"(?i)aws.{0,20}secret.{0,20}[=:]\s*['\"]?[A-Za-z0-9/+=]{40}\b"),
    ),
    ("a private key block", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("an OpenAI API key", re.compile(r"\bsk-(proj-)?[A-Za-z0-9_-]{20,}")),
    ("a Stripe key", re.compile(r"\b[rs]k_(live|test)_[A-Za-z0-9]{16,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.")),
    ("a URL with a password in it", re.compile(r"://[^/\s:@]+:[^/\s@]+@")),
)

MESSAGE = (
    "holds what looks like {what}; plumb keeps no credential in a spec (it would reach git, "
    "plans, reports and tags): store it in Secrets Manager and give the secret's name"
)


def credential_shape(text: str) -> str | None:
    """What kind of credential `text` holds, or None."""
    for what, shape in _SHAPES:
        if shape.search(text):
            return what
    return None


def credential_issues(body: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """(path, message) for every string in `body`, keys included, shaped like a credential."""
    if isinstance(body, dict):
        for key, value in body.items():
            what = credential_shape(str(key))
            if what:
                yield (*path, key), MESSAGE.format(what=what)
            yield from credential_issues(value, (*path, key))
    elif isinstance(body, list):
        for i, item in enumerate(body):
            yield from credential_issues(item, (*path, i))
    elif isinstance(body, str):
        what = credential_shape(body)
        if what:
            yield path, MESSAGE.format(what=what)
