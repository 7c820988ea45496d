"""Settings from flags and environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_STATE = "sqlite:///.plumb/state.db"
DEFAULT_WAIT = 300
# A lease renewed every third of it: a replica that dies hands its stacks on this soon.
DEFAULT_LEASE = 60


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

    def report_folder(self) -> Path:
        """Beside the SQLite file, or .plumb/reports for a server database."""
        if self.reports_dir is not None:
            return self.reports_dir
        if self.state_url.startswith("sqlite:///") and not self.state_url.endswith(":memory:"):
            return Path(self.state_url.removeprefix("sqlite:///")).parent / "reports"
        return Path(".plumb") / "reports"
