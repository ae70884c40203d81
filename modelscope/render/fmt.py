"""Number and size formatting shared by renderers (pure)."""

from __future__ import annotations

from typing import Any

from modelscope.analysis.view import View
from modelscope.model.report import LayerInfo, Report, VariableInfo
from modelscope.model.shapes import Shape, format_shape

__all__ = ["count", "format_shape", "human_bytes", "inline_shapes", "metric", "params_line", "shapes"]


GAP = "   "  # between table columns


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


def tree_prefixes(layers: list[LayerInfo]) -> list[str]:
    """Tree guides (``├── ``, ``│   ``, ``└── ``) for layers listed parents-first."""
    last_child: dict[str | None, str] = {}
    for layer in layers:
        last_child[layer.parent] = layer.path
    prefixes = []
    for layer in layers:
        parts = []
        ancestor = layer.parent
        while ancestor is not None:  # from the parent up: does each ancestor have siblings below?
            up = ancestor.rpartition("/")[0] or None
            parts.append("    " if last_child.get(up) == ancestor else "│   ")
            ancestor = up
        guide = "└── " if last_child[layer.parent] == layer.path else "├── "
        prefixes.append("".join(reversed(parts)) + guide)
    return prefixes


def model_kind(report: Report) -> str:
    """``Functional, functional``; for stored-only models what the file is."""
    m = report.model
    what = {"weights": "weights file, no architecture", "savedmodel": "SavedModel"}.get(m.kind, m.kind)
    return f"{m.cls}, {what}" if m.cls else what


def static_entries(report: Report, view: View) -> list[tuple[str, LayerInfo | VariableInfo]]:
    """Layers and, under each shown layer, its own variables, with tree guides: the summary of a
    model known only from its stored variables (a weights file, a SavedModel), which ran nothing."""
    shown = {l.path for l in view.layers}
    own: dict[str, list[VariableInfo]] = {}
    for v in report.variables:
        if v.layer in shown or v.layer == "":
            own.setdefault(v.layer, []).append(v)
    items: list[LayerInfo | VariableInfo] = []
    nodes: list[LayerInfo] = []

    def add(layer: LayerInfo | None, path: str) -> None:
        for v in own.get(path, []):
            items.append(v)
            nodes.append(LayerInfo(v.path, v.path, None, "", 0, path or None, (), (), 0, 0, 0, 0, 0))
        for child in (l for l in view.layers if l.parent == (path or None)):
            items.append(child)
            nodes.append(child)
            add(child, child.path)

    add(None, "")
    return list(zip(tree_prefixes(nodes), items))


def signature_lines(report: Report) -> list[str]:
    """``name: in (shape) dtype, ... -> out (shape) dtype``, one line per SavedModel signature."""

    def side(items: tuple) -> str:
        return ", ".join(f"{i.name} {shapes((i.shape,))} {i.dtype}" for i in items) or "(nothing)"

    return [f"{s.name}: {side(s.inputs)} -> {side(s.outputs)}" for s in report.signatures]


def compute_line(report: Report) -> str | None:
    """``1.512 M MACs / sample (3.062 M FLOPs) · activations 67.66 KB / sample``; None if not computed."""
    t = report.totals
    if t.macs is None:
        return None
    line = f"{metric(t.macs, 'MACs')} / sample ({metric(t.flops, 'FLOPs')})"
    if t.activation_bytes is not None:
        line += f" · activations {human_bytes(t.activation_bytes)} / sample"
    if t.uncounted:
        line += f" · not counted (cost unknown): {', '.join(t.uncounted)}"
    return line
