"""Who may make the loop sync now: a delivery signed as GitHub signs its webhooks.

GitHub sends `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body under the
webhook's secret, and a unique `X-GitHub-Delivery` id. A delivery is accepted once: anyone
who overheard a signed one could otherwise replay it and make the loop sync at will, so the
ids of accepted deliveries and their bodies' sha256 are remembered (the signature covers
the body, not the id), the last `REMEMBERED` of them, oldest forgotten first. The memory
is the process's own: a restarted loop accepts an old delivery once more, which costs one
cycle, the same as a push.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping

SECRET_ENV = "PLUMB_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-Hub-Signature-256"
DELIVERY_HEADER = "X-GitHub-Delivery"
REMEMBERED = 10_000
# A delivery id as plumb logs and records it: GitHub's are UUIDs. Anything else a sender
# puts in the header is cut to this and its odd characters replaced, so a log line or a
# run's record never carries an attacker's megabyte or control characters.
TOKEN_CHARS = 64
_ODD = re.compile(r"[^A-Za-z0-9._:@/+=-]")

UNSIGNED, BAD_SIGNATURE, REPLAYED = "unsigned", "bad-signature", "replayed"


def sign(secret: str, body: bytes) -> str:
    """The header value GitHub would send for this body: `sha256=<hex>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhook:
    """Checks deliveries against one secret and remembers the accepted ones."""

    def __init__(self, secret: str, remembered: int = REMEMBERED) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret")
        self._secret = secret
        self._remembered = remembered
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def refusal(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """Why the delivery is refused (unsigned, bad-signature, replayed), or None when it
        is accepted, in which case it is remembered so that it is accepted only once."""
        given = _header(headers, SIGNATURE_HEADER)
        if not given:
            return UNSIGNED
        if not hmac.compare_digest(given.strip().encode(), sign(self._secret, body).encode()):
            return BAD_SIGNATURE
        # The signature covers the body only: a replayer may send a fresh delivery id with
        # an overheard body. So the body counts as seen too (each push's body is its own).
        delivery = delivery_id(headers)
        keys = [f"sha256:{hashlib.sha256(body).hexdigest()}"] + (
            [f"id:{delivery}"] if delivery else []
        )
        with self._lock:
            if any(key in self._seen for key in keys):
                for key in keys:
                    self._seen[key] = None
                    self._seen.move_to_end(key)  # a replayer keeps it remembered
                return REPLAYED
            for key in keys:
                self._seen[key] = None
            while len(self._seen) > self._remembered:
                self._seen.popitem(last=False)
        return None


def delivery_id(headers: Mapping[str, str]) -> str:
    """The delivery's X-GitHub-Delivery, made safe to log and record ("" when none)."""
    return safe_token(_header(headers, DELIVERY_HEADER))


def safe_token(value: str) -> str:
    """A header's value cut to TOKEN_CHARS, characters outside a token's replaced by '?'."""
    return _ODD.sub("?", value.strip()[:TOKEN_CHARS])


def _header(headers: Mapping[str, str], name: str) -> str:
    """http.client's message objects match names in any case; a plain dict does not."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value or ""
