"""The embedded AWS endpoint: a moto server on a free loopback port, inside this process.

`--aws embedded` and `plumb demo` use it, and so do the end-to-end tests. moto's
settings are made here (requested ACM certificates ISSUED at once, ECS services running
their desired tasks); its compatibility patches live in `plumb_embedded/moto_compat/`, one
module per service. The patches touch moto's classes in this process only, which is why
the server runs as a thread here rather than as a separate `moto_server` process.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

from controller.errors import PlumbError
from plumb_embedded.moto_compat import patch_moto

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def require_moto() -> None:
    """moto is an optional extra, so a production install lacks it: say how to get it, in
    one line, before anything starts (a demo folder, a state database)."""
    try:
        import moto  # noqa: F401
    except ImportError:
        raise PlumbError(
            "the embedded AWS endpoint (--aws embedded, plumb demo) needs moto, which is not "
            "installed: pip install 'plumb-gitops[embedded]'"
        ) from None


def _moto_env() -> None:
    # Read by moto when it is imported or when a resource is created.
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
    os.environ.setdefault("MOTO_ECS_SERVICE_RUNNING", "2")
    # plumb launches no instances: the default AMIs moto loads for each region (some 1,300
    # objects) would cost a quarter second every time EC2 is first asked.
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


class EmbeddedAws:
    """A moto server on 127.0.0.1, started and stopped around a block of work."""

    def __init__(self) -> None:
        self.endpoint = ""
        self._server: Any = None
        self._saved: dict[str, str | None] = {}

    def start(self) -> str:
        require_moto()
        _moto_env()
        from moto.server import ThreadedMotoServer

        patch_moto()
        _issue_named_certificates()
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


CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):([0-9]{12}):certificate/.+$")


def certificate_arns(specs: Iterable[Any]) -> set[str]:
    """Every ACM certificate ARN named anywhere in the given specs."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str) and CERTIFICATE_ARN.match(value):
            found.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for spec in specs:
        walk(spec)
    return found


def provide_certificates(arns: Iterable[str]) -> None:
    """Issue, in the embedded account, the certificates the specs name.

    The example specs name certificates of the account they were written for; the embedded
    account starts empty, and an HTTPS listener needs its certificate to exist. Each one is
    a self-signed certificate imported under exactly that ARN, ISSUED, as AWS would hold it.
    Runs in the process hosting moto (the embedded server is a thread of it).
    """
    from moto.acm.models import CertBundle, acm_backends

    for arn in sorted(arns):
        match = CERTIFICATE_ARN.match(arn)
        if match is None:
            continue
        region, account = match.groups()
        backend = acm_backends[account][region]
        if arn not in backend._certificates:
            cert, key = self_signed()
            backend._certificates[arn] = CertBundle(account, cert, key, region=region, arn=arn)


def _issue_named_certificates() -> None:
    """The embedded account holds every certificate a listener names, as the account a spec
    was written for holds its own: the example specs name certificates of that account, the
    embedded one starts empty, and an HTTPS listener needs its certificate to exist. Asked
    for one it lacks (a listener made or changed), ACM issues it under exactly that ARN;
    nothing in plumb's engine needs to know it runs against a stand-in. Idempotent."""
    from moto.acm.models import AWSCertificateManagerBackend as Acm

    if getattr(Acm, "_plumb_issues_named", False):
        return
    for name in ("get_certificate", "set_certificate_in_use_by"):
        setattr(Acm, name, _issuing(getattr(Acm, name)))
    Acm._plumb_issues_named = True  # type: ignore[attr-defined]


def _issuing(method: Any) -> Any:
    @functools.wraps(method)
    def call(self: Any, arn: str, *args: Any) -> Any:
        provide_certificates([arn])  # one of another account or region stays missing
        return method(self, arn, *args)

    return call


@functools.cache
def self_signed() -> tuple[bytes, bytes]:
    """A certificate and its key (PEM): one serves every ARN and the tests' local HTTPS hosts,
    as nothing checks its name; an RSA key costs ~60 ms, so it is made once."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key
