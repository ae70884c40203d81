"""Number and size formatting shared by renderers (pure)."""

from __future__ import annotations

from typing import Any

from modelscope.inputs import Shape, format_shape

__all__ = ["count", "format_shape", "human_bytes", "inline_shapes", "metric", "params_line", "shapes"]


def human_bytes(size: float) -> str:
    """``420.73 KB``: binary units, two decimals, as Keras's ``summary()`` prints them."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def count(n: int) -> str:
    return f"{n:,}"


def params_line(n: int, size: int) -> str:
    return f"{n:,} ({human_bytes(size)})"


def inline_shapes(items: Any) -> str:
    """``(None, 64), (None, 10)`` on one line (lists, as in JSON, count as shapes); ``-`` for none."""
    return ", ".join(format_shape(None if s is None else tuple(s)) for s in items) if items else "-"


def shapes(items: tuple[Shape | None, ...]) -> str:
    """One shape per line; ``-`` when there is none (a layer that was never called)."""
    return "\n".join(format_shape(s) for s in items) if items else "-"


def metric(n: int | None, unit: str = "") -> str:
    """``3.87 G``, ``156.8 M``, ``640``: decimal prefixes, 4 significant digits; ``?`` when unknown."""
    if n is None:
        return "?"
    for prefix, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(n) >= scale:
            return f"{n / scale:.4g} {prefix}{unit}".rstrip()
    return f"{n} {unit}".rstrip()
