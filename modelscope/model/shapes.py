"""Shapes as the report holds them: a tuple of sizes, ``None`` where a size is unknown (pure)."""

from __future__ import annotations

Shape = tuple[int | None, ...]


def format_shape(shape: Shape | None) -> str:
    """``(None, 28, 28, 1)``; ``(None,)`` for rank 1; ``?`` for an unknown rank."""
    if shape is None:
        return "?"
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"
