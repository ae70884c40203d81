"""Names are data: the one place that makes user-chosen text safe for each kind of output.

Layer, model, class and input names, variable paths and anything else read from a model file
may hold any character. :func:`printable` turns every string of a report (or of stats and diff
results) into one that shows control and invisible characters as escapes (``\\n``, ``\\x1b``,
``\\u202e``; a backslash as ``\\\\``, so two different names never look alike), so no name can
move the cursor, colour the terminal, split a table row or a CSV record. Each renderer then
escapes for its own syntax: :func:`code_span` for Markdown, ``html.escape`` for DOT and HTML
labels, the csv module's quoting for CSV.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import fields, is_dataclass, replace
from typing import TypeVar

T = TypeVar("T")
_HIDDEN = re.compile(  # control characters, bidi overrides, zero-width and other invisible ones
    r"[\\\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    c = match.group()
    return _ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def visible(text: str) -> str:
    """``text`` with control and invisible format characters written as escapes."""
    out = _HIDDEN.sub(_escape, text)
    if out.isascii():
        return out
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs") else c
                   for c in out)  # fmt: skip


def printable(value: T) -> T:
    """``value`` (a report, stats or diff result, or any nesting of dataclasses, tuples, lists
    and dicts) with :func:`visible` applied to every string in it."""
    if isinstance(value, str):
        return visible(value)  # type: ignore[return-value]
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: printable(getattr(value, f.name)) for f in fields(value) if f.init}
        return replace(value, **changes)
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(printable(v) for v in value)  # type: ignore[return-value]
    if isinstance(value, list):
        return [printable(v) for v in value]  # type: ignore[return-value]
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}  # type: ignore[return-value]
    return value


def code_span(text: str) -> str:
    """Markdown inline code showing ``text`` (already :func:`printable`) literally, also in a
    table cell: the fence is longer than any run of backticks in it, and ``|`` is escaped."""
    if not text:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    body = text.replace("|", "\\|")
    return f"{fence}{pad}{body}{pad}{fence}"


def fenced(lines: list[str], info: str = "text") -> list[str]:
    """A Markdown code block holding ``lines`` verbatim: its fence is longer than any run of
    backticks inside, so no line can close it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", *lines, fence]


def markdown_text(text: str) -> str:
    """Plain text (already :func:`printable`) in Markdown: what Markdown or HTML would read as
    markup is escaped."""
    return "".join("\\" + c if c in "\\`*_[]<>|~" else c for c in text).replace("&", "&amp;")
