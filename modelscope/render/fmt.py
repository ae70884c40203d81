"""Number and size formatting shared by renderers (pure)."""

from __future__ import annotations

from modelscope.inputs import Shape, format_shape

__all__ = ["count", "format_shape", "human_bytes", "params_line", "shapes"]


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


def shapes(items: tuple[Shape | None, ...]) -> str:
    """One shape per line; ``-`` when there is none (a layer that was never called)."""
    return "\n".join(format_shape(s) for s in items) if items else "-"
