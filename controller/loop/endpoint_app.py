"""The endpoint's routes, as a WSGI application waitress serves (see endpoint.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.loop.delivery import EVENT_HEADER, judge
from controller.loop.webhook import (
    BAD_SIGNATURE,
    REPLAYED,
    SECRET_ENV,
    UNSIGNED,
    delivery_id,
)

if TYPE_CHECKING:
    from controller.loop.endpoint import Endpoint

Answer = tuple[int, bytes, str]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]

ROUTES = "/healthz, /readyz, /metrics, /sync"
GET_ONLY = ("/healthz", "/readyz", "/metrics")
WEBHOOK_OFF = f"the webhook is off: set {SECRET_ENV} to let POST /sync trigger a cycle"
REFUSED = {
    UNSIGNED: (
        "unsigned delivery: POST /sync needs X-Hub-Signature-256: sha256=<hex HMAC-SHA256 "
        f"of the body under {SECRET_ENV}>"
    ),
    BAD_SIGNATURE: "the signature does not match the body under this controller's secret",
    REPLAYED: "this delivery was accepted already; each delivery triggers one sync",
}
REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized"}
REASONS |= {404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class App:
    """Routes a request to its answer; a route never blocks on the loop."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        code, body, content_type = self._route(environ)
        start_response(
            f"{code} {REASONS.get(code, '')}".strip(),
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body]

    def _route(self, environ: dict[str, Any]) -> Answer:
        method = environ.get("REQUEST_METHOD", "")
        path = str(environ.get("PATH_INFO", "")).rstrip("/") or "/"
        if path not in (*GET_ONLY, "/sync"):
            return _json(404, {"error": f"no {path[:200]} here: {ROUTES}"})
        if path == "/sync":
            if method == "POST":
                return self._sync(environ)
            return _json(405, {"error": "POST /sync, with a signed body"})
        if method != "GET":
            return _json(405, {"error": f"GET {path}"})
        if path == "/metrics":
            return 200, generate_latest(self.endpoint.metrics.registry), CONTENT_TYPE_LATEST
        body = self.endpoint.status.to_json()
        ok = body["healthy"] if path == "/healthz" else body["ready"]
        return _json(200 if ok else 503, body)

    def _sync(self, environ: dict[str, Any]) -> Answer:
        endpoint = self.endpoint
        if endpoint.webhook is None:
            return _json(404, {"error": WEBHOOK_OFF})
        length = int(environ.get("CONTENT_LENGTH") or 0)  # waitress let only digits through
        body = environ["wsgi.input"].read(length) if length else b""
        headers = _headers(environ)
        refusal = endpoint.webhook.refusal(headers, body)
        if refusal is not None:
            endpoint.metrics.webhook(refusal)
            self._log_refusal(refusal, environ, headers)
            return _json(401, {"error": REFUSED[refusal], "reason": refusal})
        verdict = judge(headers.get(EVENT_HEADER.lower(), ""), body, endpoint.branch)
        endpoint.metrics.webhook(verdict.outcome)
        if verdict.status >= 400:
            self._log_refusal(verdict.outcome, environ, headers)
        if verdict.cycle:
            endpoint.trigger(delivery_id(headers))
        return _json(verdict.status, verdict.body())

    def _log_refusal(self, reason: str, environ: dict[str, Any], headers: dict[str, str]) -> None:
        """At most once a minute per reason (log_limits.py), the sender's values cut short."""
        fields = {
            "event": "webhook-refused",
            "reason": reason,
            "delivery": delivery_id(headers),
            "client": str(environ.get("REMOTE_ADDR", ""))[:64],
        }
        self.endpoint.refusals.warn(reason, fields)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers, named in lower case (x-github-event for HTTP_X_GITHUB_EVENT);
    webhook.py matches names in any case."""
    return {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }


def _json(code: int, body: dict[str, Any]) -> Answer:
    return code, json.dumps(body).encode(), "application/json"
