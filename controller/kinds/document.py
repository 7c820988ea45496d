"""A spec document as loaded from git: its data, and where each node sits in its file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.model import SourceLoc

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """One YAML document. `marks` maps a path to the 1-based (line, column) of its node."""

    file: str
    body: Mapping[str, Any]
    marks: Mapping[Path, tuple[int, int]] = field(default_factory=dict)
    index: int = 0  # position in a multi-document file

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.body.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def stack(self) -> str:
        """`{product}-{env}`: the unit plumb locks, observes and reports on."""
        return f"{self.metadata.get('product', '')}-{self.metadata.get('env', '')}"

    @property
    def policy(self) -> Mapping[str, Any]:
        pol = self.body.get("policy")
        return pol if isinstance(pol, Mapping) else {}

    def position(self, path: Path) -> tuple[int, int]:
        """The mark of `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.marks:
                return self.marks[probe]
            probe = probe[:-1]
        return self.marks.get((), (1, 1))

    def loc(self, path: Path = ()) -> SourceLoc:
        line, column = self.position(path)
        return SourceLoc(self.file, line, column)


def dotted(path: Path) -> str:
    """("spec", "network", "publicSubnets", 1) -> "spec.network.publicSubnets[1]"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
