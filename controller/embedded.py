"""The embedded AWS endpoint: a moto server on a free loopback port, inside this process.

`--aws embedded` and `plumb demo` use it, and so do the end-to-end tests. moto's
settings are made here (requested ACM certificates ISSUED at once, ECS services running
their desired tasks); its compatibility patches live in `controller/moto_compat/`, one
module per service. The patches touch moto's classes in this process only, which is why
the server runs as a thread here rather than as a separate `moto_server` process.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from controller.moto_compat import patch_moto

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _moto_env() -> None:
    # Read by moto when it is imported or when a resource is created.
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
    os.environ.setdefault("MOTO_ECS_SERVICE_RUNNING", "2")


class EmbeddedAws:
    """A moto server on 127.0.0.1, started and stopped around a block of work."""

    def __init__(self) -> None:
        self.endpoint = ""
        self._server: Any = None
        self._saved: dict[str, str | None] = {}

    def start(self) -> str:
        _moto_env()
        from moto.server import ThreadedMotoServer

        patch_moto()
        # Werkzeug logs every request on stderr, which would bury plumb's own output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        env = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}
        for key, value in env.items():
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            self._saved[key] = os.environ.pop(key, None)
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved.clear()


@contextlib.contextmanager
def embedded_aws() -> Iterator[EmbeddedAws]:
    aws = EmbeddedAws()
    aws.start()
    try:
        yield aws
    finally:
        aws.stop()
