"""Who holds a stack's lease: `host:pid:run:nonce`, as lock rows store it, and whether a
holder on this host is still alive. The lease (engine/lease.py), the sweep of runs left open
(unsealed.py) and the audit all read holders; none of them needs the others for it."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    run: int | None
    nonce: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.run or '-'}:{self.nonce}"

    @classmethod
    def parse(cls, text: str) -> Holder:
        """Read a holder name back; names written before runs were in them have 3 parts."""
        parts = text.split(":")
        host = parts[0] if parts else "?"
        pid = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        run = int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else None
        return cls(host, pid, run, parts[-1] if len(parts) > 2 else "")

    def describe(self) -> str:
        run = f" (run {self.run})" if self.run else ""
        return f"plumb pid {self.pid} on {self.host}{run}"


def here(run: int | None = None) -> Holder:
    """This process as a holder; PLUMB_HOLDER_HOST names a replica whose host name is not
    telling (containers that share a name, a test playing several machines)."""
    host = os.environ.get("PLUMB_HOLDER_HOST") or socket.gethostname()
    return Holder(host, os.getpid(), run, uuid.uuid4().hex[:12])


def describe_lock(lock: dict[str, Any]) -> str:
    """ "stack X is locked by plumb pid P on H (run R) since T; its lease has N s left"."""
    return (
        f"stack {lock['stack']} is locked by {Holder.parse(str(lock['holder'])).describe()} "
        f"since {lock['acquiredAt']}; its lease has {lock['secondsLeft']} s left"
    )


def process_alive(pid: int) -> bool:
    """True unless `pid` on this host is gone (or a zombie: killed, not yet reaped)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Killed, not yet reaped by its parent: signal 0 still reaches it, yet it is dead."""
    try:
        stat = FsPath(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS) or gone meanwhile
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
