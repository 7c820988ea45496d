"""Credentials anywhere in a spec: shapes that are keys or tokens wherever they appear.

A spec is committed to git, copied into plans and reports, and its tags are written onto
every resource; a key that reaches one of them has leaked. Every string of every document,
keys included, is checked against shapes that are credentials and nothing else: plumb's
own (an AWS access key id, a private key block, a provider's token prefix, a webhook URL
that is its own secret, a URL with a password, a password or token in a query string) and
detect-secrets' provider and keyword plugins, named one by one below. Its high-entropy
plugins are left out on purpose: an image tag or a digest is random-looking text, and the
looser heuristics stay with the fields that must hold a secret's name, where a false alarm
costs nothing. No message or path ever quotes what was found: a key shaped like a
credential is shown as MASK.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from controller.kinds.document import Path, dotted

MASK = "<key that looks like a credential>"

# A port and then a path (https://host:8443/a@b) is not a password.
_USERINFO_PASSWORD = r"://[^\s/?#@]*:(?!\d{1,5}(?:[/?#]|$))[^\s@]+@"
_QUERY_NAMES = r"password|passwd|pwd|secret|token|api[_-]?key|sig"

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
    ("a Slack webhook URL", re.compile(r"(?i)hooks\.slack\.com/(services|workflows|triggers)/\w")),
    (
        "a Microsoft Teams webhook URL",
        re.compile(
            r"(?i)(\.webhook\.office\.com/webhookb2/|outlook\.office(365)?\.com/webhook/"
            r"|\.logic\.azure\.com\S*/workflows/\S*[?&]sig=)"
        ),
    ),
    ("a Discord webhook URL", re.compile(r"(?i)discord(app)?\.com/api/webhooks/\d+/[\w-]")),
    ("an OpenAI API key", re.compile(r"\bsk-(proj-)?[A-Za-z0-9_-]{20,}")),
    ("a Stripe key", re.compile(r"\b[rs]k_(live|test)_[A-Za-z0-9]{16,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.")),
    ("a URL with a password in it", re.compile(_USERINFO_PASSWORD)),
    (
        "a password or token in a query or connection string",
        re.compile(rf"(?i)[?&;]([\w.-]*[_.-])?({_QUERY_NAMES})=[^&#\s]"),
    ),
)

# detect-secrets' plugins, by name: a new release's plugin is not enabled unseen. Left out
# beside the high-entropy ones: IPPublicDetector (a public address is configuration),
# ArtifactoryDetector ("AP" and eight letters is an ordinary upper-case name) and
# TelegramBotTokenDetector (an ARN's account id before a long queue or topic name).
_DETECT_SECRETS = (
    "aws.AWSKeyDetector",
    "azure_storage_key.AzureStorageKeyDetector",
    "basic_auth.BasicAuthDetector",
    "cloudant.CloudantDetector",
    "discord.DiscordBotTokenDetector",
    "github_token.GitHubTokenDetector",
    "gitlab_token.GitLabTokenDetector",
    "ibm_cloud_iam.IbmCloudIamDetector",
    "ibm_cos_hmac.IbmCosHmacDetector",
    "jwt.JwtTokenDetector",
    "keyword.KeywordDetector",
    "mailchimp.MailchimpDetector",
    "npm.NpmDetector",
    "openai.OpenAIDetector",
    "private_key.PrivateKeyDetector",
    "pypi_token.PypiTokenDetector",
    "sendgrid.SendGridDetector",
    "slack.SlackDetector",
    "softlayer.SoftlayerDetector",
    "square_oauth.SquareOAuthDetector",
    "stripe.StripeDetector",
    "twilio.TwilioKeyDetector",
)

# Each of the keyword plugin's words holds one of these: without one it cannot match, and
# it is the slowest plugin by far (half of all the time spent on credentials).
_KEYWORDS = re.compile(r"(?i)key|pass|pwd|secret|contrase")

MESSAGE = (
    "holds what looks like {what}; plumb keeps no credential in a spec (it would reach git, "
    "plans, reports and tags): store it in Secrets Manager and give the secret's name"
)


class Leak(NamedTuple):
    """A string shaped like a credential: where it is, and what to say (never the text)."""

    path: Path
    message: str


def credential_shape(text: str) -> str | None:
    """What kind of credential `text` holds, or None. Short texts are cached: keys and
    values repeat from document to document, and every issue's path is checked key by key;
    a long one is not kept by a loop that runs for months."""
    return _cached_shape(text) if len(text) <= 256 else _shape(text)


@functools.lru_cache(maxsize=8192)
def _cached_shape(text: str) -> str | None:
    return _shape(text)


def _shape(text: str) -> str | None:
    for what, shape in _SHAPES:
        if shape.search(text):
            return what
    keywords = _KEYWORDS.search(text) is not None
    for plugin in _detectors():
        if plugin.by_keyword and not keywords:
            continue
        # the plugin's own regexes first: its analyze_string is a generator per call, and
        # calling it for every string would double the time spent here
        if plugin.shapes and not any(shape.search(text) for shape in plugin.shapes):
            continue
        if any(True for _ in plugin.found(text)):
            return plugin.what
    return None


class _Plugin(NamedTuple):
    what: str
    found: Callable[[str], Iterator[str]]  # its analyze_string: the secrets in a string
    shapes: tuple[re.Pattern[str], ...]  # a match of one is needed for any secret found
    by_keyword: bool


@functools.cache
def _detectors() -> tuple[_Plugin, ...]:
    """detect-secrets' plugins, loaded once, on first use (an import of a tenth of a
    second)."""
    import importlib

    from detect_secrets.plugins import keyword

    # Its config-file forms but `secret...: value` unquoted: an IAM action
    # (secretsmanager:GetSecretValue) and a secret's ARN (...:secret:acme/prod/key) read so.
    assigned = {
        keyword.FOLLOWED_BY_EQUAL_SIGNS_REGEX: 5,
        keyword.PRECEDED_BY_EQUAL_COMPARISON_SIGNS_QUOTES_REQUIRED_REGEX: 2,
        keyword.FOLLOWED_BY_QUOTES_AND_SEMICOLON_REGEX: 3,
        keyword.FOLLOWED_BY_COLON_QUOTES_REQUIRED_REGEX: 5,
    }
    out: list[_Plugin] = []
    for name in _DETECT_SECRETS:
        module, cls = name.rsplit(".", 1)
        plugin = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), cls)()
        what = f"a secret ({plugin.secret_type}, by detect-secrets)"
        if cls == "KeywordDetector":  # a value read as a config line: password=..., "pwd": "..."
            found = functools.partial(plugin.analyze_string, denylist_regex_to_group=assigned)
            out.append(_Plugin(what, found, (), True))
        else:
            out.append(_Plugin(what, plugin.analyze_string, tuple(plugin.denylist), False))
    return tuple(out)


def credential_issues(body: Any, path: Path = ()) -> Iterator[Leak]:
    """A Leak for every string in `body`, keys included, shaped like a credential."""
    if isinstance(body, dict):
        for key, value in body.items():
            what = credential_shape(str(key))
            if what:
                yield Leak((*path, key), MESSAGE.format(what=what))
            yield from credential_issues(value, (*path, key))
    elif isinstance(body, list):
        for i, item in enumerate(body):
            yield from credential_issues(item, (*path, i))
    elif isinstance(body, str):
        what = credential_shape(body)
        if what:
            yield Leak(path, MESSAGE.format(what=what))


def masked(path: Path) -> Path:
    """`path` with every key shaped like a credential replaced by MASK."""
    return tuple(MASK if isinstance(p, str) and credential_shape(p) else p for p in path)


def shown_path(path: Path) -> str:
    """The dotted path as a message may show it: no key in it quoted if it is a secret."""
    return dotted(masked(path))


def shown_key(key: Any) -> str:
    """A key quoted for a message, or MASK when it is shaped like a credential (or holds
    what a terminal would act on)."""
    text = str(key)
    if credential_shape(text):
        return MASK
    return f"'{text}'" if text.isprintable() else "<key with a control character>"
