"""Repository URLs: the forms plumb hands to git, and their public form.

A repository URL may carry a credential (`https://x-access-token:TOKEN@host/org/specs.git`,
the usual way a CI system gives a token). plumb uses it and never keeps it: git is handed the
URL without it (the credential goes through GIT_ASKPASS, see git_credentials.py), and only the
public form is recorded in the state, printed, logged or written into a report, whose chain
could never be edited to take it out again.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from controller.errors import PlumbError

# scheme://[userinfo@]host[:port]/path; the authority ends at the first "/"
SCHEMED = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/]*)(?P<rest>.*)", re.S
)
# git's scp-like form, [user@]host:path, with no "/" before the ":"
SCP_LIKE = re.compile(r"(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:]+):(?P<path>.*)", re.S)
IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
SSH_SCHEMES = {"ssh", "git+ssh", "ssh+git"}
ACCEPTED = "https://, ssh://, git@host:path, file:// or a local path"
HOST = re.compile(r"[A-Za-z0-9_\[][A-Za-z0-9._\[\]:-]*")


class RepoUrlError(PlumbError):
    pass


@dataclass(frozen=True)
class RepoUrl:
    """A repository URL taken apart: what git is handed, and the credential kept aside."""

    address: str  # what git fetches from: no credential in it
    host: str  # "" for a local repository
    user: str = ""  # from the URL's userinfo (https only)
    password: str = ""

    @property
    def is_https(self) -> bool:
        return self.address.startswith("https://")


def public_url(url: str) -> str:
    """The URL as plumb records and prints it: an https URL's userinfo (a token, often in
    the user name) never; an ssh URL keeps its login name, never a password."""
    schemed = SCHEMED.fullmatch(url)
    if schemed:
        userinfo, at, hostport = schemed["authority"].rpartition("@")
        if not at:
            return url
        keep = userinfo.split(":", 1)[0] + "@" if schemed["scheme"].lower() in SSH_SCHEMES else ""
        return f"{schemed['scheme']}://{keep}{hostport}{schemed['rest']}"
    login, at, rest = url.partition("@")
    if at and "/" not in login:  # scp-like: user@host:path, a login name, a password never
        return f"{login.split(':', 1)[0]}@{rest}"
    return url


def scrubbed(text: str, *secrets: str) -> str:
    """`text` (git's stderr, say) with every URL in it public and the given secrets masked."""
    text = IN_TEXT.sub(lambda m: public_url(m.group(0)), text)
    for secret in filter(None, secrets):
        text = text.replace(secret, "***")
    return text


def parse(url: str) -> RepoUrl:
    """The URL if it is one of the accepted forms, else RepoUrlError naming them (in its
    public form: the message is printed and may be recorded)."""
    if not url:
        raise _refused(url, "is empty")
    if url.startswith("-"):
        raise _refused(url, "starts with '-' (git would read it as an option)")
    if any(c in url for c in "\0\n\r"):
        raise _refused(url, "holds a line break")
    schemed = SCHEMED.fullmatch(url)
    if schemed:
        return _schemed(url, schemed)
    if "::" in url:  # git reads "name::address" as the remote helper git-remote-name
        raise _refused(url, "names a git remote helper ('::')")
    scp = SCP_LIKE.fullmatch(url)
    if scp and not os.path.exists(url):
        _check_host(url, scp["host"], scp["user"] or "")
        return RepoUrl(url, scp["host"])
    return RepoUrl(os.path.abspath(url), "")  # never relative to the folder git runs in


def _schemed(url: str, schemed: re.Match[str]) -> RepoUrl:
    scheme = schemed["scheme"].lower()
    userinfo, _, hostport = schemed["authority"].rpartition("@")
    if scheme == "file":
        return RepoUrl(public_url(url), "")
    if scheme not in {"https", *SSH_SCHEMES}:
        raise _refused(url, f"uses {scheme}://")
    host = hostport.rsplit(":", 1)[0] if not hostport.endswith("]") else hostport
    if scheme != "https":
        _check_host(url, host, userinfo)
        return RepoUrl(public_url(url), host)
    _check_host(url, host, "")
    user, _, password = userinfo.partition(":")
    return RepoUrl(f"https://{hostport}{schemed['rest']}", host.lower(), user, password)


def _check_host(url: str, host: str, user: str) -> None:
    """ssh reads a host or login name that starts with '-' as one of its options."""
    if not HOST.fullmatch(host) or user.startswith("-"):
        raise _refused(url, "has no host name, or one ssh would read as an option")


def _refused(url: str, why: str) -> RepoUrlError:
    return RepoUrlError(
        f"--repo (PLUMB_REPO) {public_url(url)!r} {why}: plumb fetches only from {ACCEPTED}"
    )
