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
from typing import Any, TypeVar

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
    and dicts) with :func:`visible` applied to every string in it. What holds no string to escape
    comes back as it is, not copied (results are frozen and renderers never change them): a
    report of 800 layers is walked in milliseconds, and copied only where a name needs escapes."""
    if isinstance(value, str):
        return visible(value)  # type: ignore[return-value]
    if value is None or isinstance(value, (int, float)):  # most of a report: counts, sizes, flags
        return value
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        escaped = tuple(printable(v) for v in value)
        return value if _same(escaped, value) else escaped  # type: ignore[return-value]
    if isinstance(value, list):
        items = [printable(v) for v in value]
        return value if _same(items, value) else items  # type: ignore[return-value]
    if isinstance(value, dict):
        pairs = [(printable(k), printable(v)) for k, v in value.items()]
        unchanged = all(k is a and v is b for (k, v), (a, b) in zip(pairs, value.items()))
        return value if unchanged else dict(pairs)  # type: ignore[return-value]
    if is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in fields(value):
            if f.init:
                old = getattr(value, f.name)
                new = printable(old)
                if new is not old:
                    changes[f.name] = new
        return replace(value, **changes) if changes else value
    return value


def _same(new: Any, old: Any) -> bool:
    return all(a is b for a, b in zip(new, old))


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
