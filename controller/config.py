"""Settings from flags and environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_STATE = "sqlite:///.plumb/state.db"
DEFAULT_WAIT = 300
# A lease renewed every third of it: a replica that dies hands its stacks on this soon.
DEFAULT_LEASE = 60
# Seven years, a common retention for audit records; compliance mode cannot shorten it.
DEFAULT_RETAIN_DAYS = 2555


def _env_key() -> bytes | None:
    return os.environ.get("PLUMB_AUDIT_KEY", "").encode("utf-8") or None


@dataclass
class Settings:
    state_url: str = field(default_factory=lambda: os.environ.get("PLUMB_STATE", DEFAULT_STATE))
    region: str = field(default_factory=lambda: os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    aws: str = "default"  # "embedded": an in-process moto server on loopback
    workers: int = 8
    max_attempts: int = 10
    lease_seconds: float = DEFAULT_LEASE
    reports_dir: Path | None = None
    # Seconds a run may spend, in all, waiting for resources still becoming ready.
    wait_seconds: float = field(
        default_factory=lambda: float(os.environ.get("PLUMB_READY_WAIT", DEFAULT_WAIT))
    )
    # The audit key (PLUMB_AUDIT_KEY or --audit-key-file): each new link of the run chain is
    # an HMAC with it. Never written to the state, whose writers it guards against.
    audit_key: bytes | None = field(default_factory=_env_key, repr=False)
    audit_anchor: Path | None = None  # the file each sealed run's chain head is appended to
    archive_bucket: str | None = None  # an S3 bucket with Object Lock for reports and heads
    archive_retain_days: int = DEFAULT_RETAIN_DAYS

    def report_folder(self) -> Path:
        """Beside the SQLite file, or .plumb/reports for a server database."""
        if self.reports_dir is not None:
            return self.reports_dir
        if self.state_url.startswith("sqlite:///") and not self.state_url.endswith(":memory:"):
            return Path(self.state_url.removeprefix("sqlite:///")).parent / "reports"
        return Path(".plumb") / "reports"
