"""What every git call runs with: the transports allowed, and a token through GIT_ASKPASS.

A token (PLUMB_GIT_TOKEN, or the one a repository URL carried) reaches git only through the
environment of the git process: a small askpass script, written for the call into a folder of
its own (0700) and removed after it, prints it from that environment when git asks for a
password. It is never on a command line (any user of the host can read those) and never in a
file. Without a token, git's own credential helpers answer as always. With one, they are left
out of that fetch (an empty credential.helper, set through the environment): a helper would
answer before the token, or store it after a successful fetch, in ~/.git-credentials say.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from controller.loop.git_urls import RepoUrl

TOKEN_ENV = "PLUMB_GIT_TOKEN"
USER_ENV = "PLUMB_GIT_USER"
ASKPASS_USER = "PLUMB_ASKPASS_USER"
ASKPASS_TOKEN = "PLUMB_ASKPASS_TOKEN"
ASKPASS = """#!/bin/sh
# plumb's answer to git's questions, from the environment plumb gave this git process
case "$1" in
Username*) printf '%s\\n' "$PLUMB_ASKPASS_USER" ;;
Password*) [ -n "$PLUMB_ASKPASS_TOKEN" ] || exit 1; printf '%s\\n' "$PLUMB_ASKPASS_TOKEN" ;;
*) exit 1 ;;
esac
"""
# Only these transports, whatever the git configuration says (ext:: would run a command);
# a credential that is missing fails the fetch instead of waiting for a terminal.
GIT_SETTINGS = {
    "GIT_ALLOW_PROTOCOL": "https:ssh:file",
    "GIT_PROTOCOL_FROM_USER": "0",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_LITERAL_PATHSPECS": "1",  # a --path of ":(top)" is a folder's name, not pathspec magic
}


def git_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (TOKEN_ENV, ASKPASS_TOKEN)}
    return {**env, **GIT_SETTINGS}


def _without_helpers(env: dict[str, str]) -> dict[str, str]:
    """`env` plus git configuration (GIT_CONFIG_COUNT, after any already there) that empties
    the list of credential helpers for this git process only."""
    count = env.get("GIT_CONFIG_COUNT", "0")
    n = int(count) if count.isdigit() else 0
    return {
        **env,
        "GIT_CONFIG_COUNT": str(n + 1),
        f"GIT_CONFIG_KEY_{n}": "credential.helper",
        f"GIT_CONFIG_VALUE_{n}": "",
    }


def user_for(host: str) -> str:
    """The user name a host expects beside a token, unless PLUMB_GIT_USER names another."""
    if os.environ.get(USER_ENV):
        return os.environ[USER_ENV]
    if host.startswith("gitlab.") or ".gitlab." in host:
        return "oauth2"
    if "bitbucket" in host:
        return "x-token-auth"
    return "x-access-token"  # GitHub's, and GitHub Enterprise's under any name


def token_for(url: RepoUrl) -> str:
    return url.password or os.environ.get(TOKEN_ENV, "")


@contextlib.contextmanager
def fetch_environment(url: RepoUrl, folder: Path) -> Iterator[dict[str, str]]:
    """git's environment to fetch `url`: with a token for it (an https URL only), an
    askpass script in a new folder under `folder`, removed when the fetch is done."""
    env = git_environment()
    token = token_for(url)
    if not url.is_https or not (token or url.user):
        yield env
        return
    home = tempfile.mkdtemp(prefix=".askpass-", dir=folder)  # mode 0700
    try:
        script = Path(home) / "askpass"
        handle = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
        with os.fdopen(handle, "w") as out:
            out.write(ASKPASS)
        user = url.user or user_for(url.host)
        env.update({"GIT_ASKPASS": str(script), ASKPASS_USER: user, ASKPASS_TOKEN: token})
        yield _without_helpers(env) if token else env  # a user name alone: helpers answer
    finally:
        shutil.rmtree(home, ignore_errors=True)
