"""A page loaded in a real headless Chromium (Debian's `chromium`): the DOM it built, the
console messages it logged, and a screenshot; and a small DOM reader to check it.

Chromium logs each console message to stderr (`--enable-logging=stderr`) as
`INFO:CONSOLE...] "message", source: ...`. The pages' Content-Security-Policy
(`default-src 'none'`) turns any fetch, script or external font into such a message before
a request leaves, so "no console message" also means "nothing was fetched". Chromium's own
background traffic (updates, sync, metrics) is switched off: nothing but the file is read.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = shutil.which("chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
_CONSOLE = re.compile(r":CONSOLE[:(\]]|Uncaught", re.I)
_QUIET = (
    "--headless",
    "--disable-gpu",
    "--no-sandbox",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--metrics-recording-only",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)


@dataclass
class Page:
    dom: str
    console: list[str]
    screenshot: Path | None


def load(path: Path, screenshot: Path | None = None, height: int = 2000) -> Page:
    """Open `path` as file://: its DOM, console lines, and a 1280-wide screenshot if asked."""
    assert CHROMIUM, "chromium is not installed"
    url = path.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="plumb-chromium-") as profile:
        base = [CHROMIUM, *_QUIET, f"--user-data-dir={profile}"]
        dumped = subprocess.run(
            [*base, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
        )
        console = [line for line in dumped.stderr.splitlines() if _CONSOLE.search(line)]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            shot = subprocess.run(
                [*base, f"--screenshot={screenshot}", f"--window-size=1280,{height}", url],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            console += [line for line in shot.stderr.splitlines() if _CONSOLE.search(line)]
            assert screenshot.stat().st_size > 0, shot.stderr
    return Page(dumped.stdout, console, screenshot)


# -- reading the DOM --------------------------------------------------------------------

_VOID = {"meta", "br", "img", "input", "link", "hr", "path", "circle"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    parts: list[str | Node] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text() for p in self.parts)

    def walk(self) -> list[Node]:
        out = [self]
        for child in self.children:
            out += child.walk()
        return out

    def all(self, tag: str = "", cls: str = "", **attrs: str) -> list[Node]:
        """Elements below (and including) this one, in document order."""
        return [
            n
            for n in self.walk()
            if (not tag or n.tag == tag)
            and (not cls or cls in n.classes)
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def one(self, tag: str = "", cls: str = "", **attrs: str) -> Node:
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, f"{len(found)} elements {tag}.{cls} {attrs}"
        return found[0]

    def has(self, key: str) -> list[Node]:
        return [n for n in self.walk() if key in n.attrs]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        self.stack[-1].parts.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].parts.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def order(root: Node, node: Node) -> int:
    """The position of `node` in document order."""
    return next(i for i, n in enumerate(root.walk()) if n is node)
