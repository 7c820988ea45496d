"""Markdown that untrusted text cannot break out of, shared by the run report and the plan.

Text from git or AWS (commit messages, ids, values, AWS error messages) goes into code spans
or fences sized to the text: nothing inside renders as Markdown or HTML. plumb's own
sentences that quote such text go through `escape`, which backslash-escapes only the
characters that start markup, so `--allow-replace` stays readable in the raw text too.
"""

from __future__ import annotations

import html
import re

# What can start inline markup anywhere in a line: code, emphasis, strikethrough, links and
# images ("[" and "!["), HTML tags and autolinks ("<"), entities ("&"), table cells ("|"),
# GitHub mentions ("@") and issue references ("#"). "-", "+", "." and the like matter only
# at the start of a line (lists, headings, quotes), which `escape` escapes there only.
_INLINE = re.compile(r"([\\`*_\[\]<>|&~@#])")
_LEADING = re.compile(r"^(\d*)([-+=>.)])")


def escape(text: object) -> str:
    """Plain text for Markdown: one line, only what would start markup escaped."""
    flat = _INLINE.sub(r"\\\1", " ".join(str(text).split()))
    # At the start of a line "- ", "+ ", "> ", "=" and "1. " open a list, quote or heading.
    return _LEADING.sub(r"\1\\\2", flat)


def code(text: object, table: bool = False) -> str:
    """`text` as one inline code span: nothing in it renders as Markdown or HTML."""
    flat = " ".join(str(text).split())
    if not flat:
        return ""
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", flat)), default=0) + 1)
    if table:  # GFM splits table cells on "|" even inside code spans unless escaped
        flat = flat.replace("|", "\\|")
    return f"{ticks} {flat} {ticks}" if "`" in flat else f"{ticks}{flat}{ticks}"


def fence(text: str, lang: str, indent: str = "") -> str:
    """A fenced block longer than any run of backticks in `text`, so it cannot be closed."""
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    body = "\n".join(indent + line for line in text.splitlines())
    return f"{indent}{ticks}{lang}\n{body}\n{indent}{ticks}"


def html_code(text: object) -> str:
    """Text inside an HTML element (a <summary>), where Markdown code spans do not render."""
    return f"<code>{html.escape(' '.join(str(text).split()))}</code>"
