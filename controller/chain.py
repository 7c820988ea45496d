"""The run hash chain's arithmetic, and nothing else: a leaf that imports nothing of plumb,
so the store that seals runs and the audit that checks them share it without a cycle.

A run's link is `sha256(prev_hash + canonical JSON of the run)`, or with an audit key
`HMAC-SHA256(key, prev_hash + canonical JSON of the run)`. The run is the dict that
`store.runs.get()` returns (its changes included) less `hash` and `prevHash`; canonical JSON is
`json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`. The first run links
to 64 zeros. A run records which of the two sealed it (`seal`), so a chain may start plain
and go on keyed; runs sealed before plumb recorded it have no `seal` and are plain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

GENESIS_HASH = "0" * 64
PLAIN = "sha256"
KEYED = "hmac-sha256"
SEALS = (PLAIN, KEYED)
UNHASHED_KEYS = frozenset({"hash", "prevHash"})


def canonical(run: dict[str, Any]) -> str:
    body = {k: v for k, v in run.items() if k not in UNHASHED_KEYS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, run: dict[str, Any], key: bytes | None = None) -> str:
    """The run's link: plain sha256 without a key, HMAC-SHA256 with one."""
    message = (prev_hash + canonical(run)).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal_of(run: dict[str, Any]) -> str:
    """How the run was sealed; runs from before plumb recorded it are plain."""
    return str(run.get("seal") or PLAIN)


def same_hash(left: str | None, right: str | None) -> bool:
    # Constant time: a keyed link compared byte by byte would leak how much of it matched.
    return left is not None and right is not None and hmac.compare_digest(left, right)
