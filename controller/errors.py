"""The one exception tree plumb raises.

PlumbError
├── SpecError         invalid specs; carries every SpecIssue found, not the first only
├── PlanError         a plan that must not run: stale, too many deletes, ...
├── LockError         another writer holds the stack's lease
└── AwsError          an AWS call failed
    ├── TerminalError   retrying will not help; dependents stop
    └── TransientError  may succeed on the next run
"""

from __future__ import annotations

from dataclasses import dataclass

ERR_CREATE = "cannot create {kind} {logical_id}: {code} {message}"
ERR_DELETE = "cannot delete {kind} {logical_id}: {code} {message}"
ERR_OBSERVE = "cannot observe {kind} in {region}: {code} {message}"


class PlumbError(Exception):
    """Base of every error plumb reports to a user."""


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec file, as `FILE:LINE:COL: PATH: message`."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(PlumbError):
    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line, i.column, i.path))
        super().__init__("\n".join(str(i) for i in self.issues))


class PlanError(PlumbError):
    pass


class LockError(PlumbError):
    pass


class AwsError(PlumbError):
    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class TerminalError(AwsError):
    pass


class TransientError(AwsError):
    pass
