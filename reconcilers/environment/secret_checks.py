"""Secrets are named, never given: the Environment checks that catch a value in a spec.

No message here ever quotes the value it found; a misplaced key must not reach a log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from controller.kinds.document import Path

Issue = tuple[Path, str]
SPEC: Path = ("spec",)

# -- secrets ----------------------------------------------------------------------------

SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
SECRET_VALUE = "looks like a secret value; give the name of a Secrets Manager secret instead"
_CREDENTIAL = re.compile(
    r"""^sk-[A-Za-z0-9_-]{20,}          # OpenAI-style API key
      | ^sk_(live|test)_                 # Stripe
      | ^(AKIA|ASIA)[A-Z0-9]{16}$        # AWS access key id
      | -----BEGIN                       # PEM key or certificate
      | ^gh[pousr]_[A-Za-z0-9]{20,}     # GitHub tokens
      | ^github_pat_
      | ^xox[abprs]-                     # Slack
      | ^eyJ[A-Za-z0-9_-]{8,}\.          # JWT
      | ^AIza[0-9A-Za-z_-]{30,}          # Google API key
      | ^[0-9a-fA-F]{32,}$               # hex keys (Azure OpenAI's among them)
      | ://[^/\s:@]+:[^/\s@]+@           # a URL carrying user:password
    """,
    re.VERBOSE,
)
_CREDENTIAL_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|SECRET_KEY|TOKEN|API_?KEY|PRIVATE_KEY|ACCESS_KEY)$", re.IGNORECASE
)


def looks_like_credential(value: str) -> bool:
    """True for values shaped like keys and tokens rather than names (a heuristic)."""
    return bool(_CREDENTIAL.search(value)) or _random_token(value)


def _random_token(value: str) -> bool:
    """Long mixed-case-and-digit strings that do not read like words: base64 keys."""
    if len(value) < 24 or not re.fullmatch(r"[A-Za-z0-9+/=_-]+", value):
        return False
    if not (re.search(r"[A-Z]", value) and re.search(r"[a-z]", value) and re.search(r"\d", value)):
        return False
    letters = [c for c in value if c.isalpha()]
    vowels = sum(c in "aeiouAEIOU" for c in letters) / len(letters)
    digit_runs = len(re.findall(r"\d+", value))
    return vowels < 0.3 or digit_runs >= 3


def secret_name_problem(value: str) -> str | None:
    if looks_like_credential(value):
        return SECRET_VALUE
    if not SECRET_NAME.match(value):
        return "is not a Secrets Manager secret name: 1-512 letters, digits and / _ + = . @ -"
    return None


def secret_issues(spec: Mapping[str, Any]) -> list[Issue]:
    out: list[Issue] = []
    service = spec.get("service") or {}
    for name, value in (service.get("secrets") or {}).items():
        problem = secret_name_problem(str(value))
        if problem:
            out.append(((*SPEC, "service", "secrets", name), problem))
    azure = (spec.get("models") or {}).get("azureOpenAI") or {}
    if "apiKeySecret" in azure:
        problem = secret_name_problem(str(azure["apiKeySecret"]))
        if problem:
            out.append(((*SPEC, "models", "azureOpenAI", "apiKeySecret"), problem))
    for name, value in (service.get("environment") or {}).items():
        text = str(value)
        named = _CREDENTIAL_NAME.search(name) and len(text) >= 8 and "/" not in text
        if looks_like_credential(text) or named:
            out.append(
                (
                    (*SPEC, "service", "environment", name),
                    "looks like a credential; keep it in Secrets Manager and name the "
                    "secret in service.secrets instead",
                )
            )
    return out
