"""Number and size formatting shared by renderers (pure)."""

from __future__ import annotations

from typing import Any

from modelscope.analysis.view import View
from modelscope.model.report import LayerInfo, Report, VariableInfo
from modelscope.model.shapes import Shape, format_shape

__all__ = ["count", "format_shape", "human_bytes", "inline_shapes", "metric", "params_line", "shapes", "short_shape"]


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


SHAPE_FORMS = 5  # the forms of shapes, natural first; each narrower than the one before (see short_shape)


def short_shape(shape: Shape | None, form: int = 0) -> str:
    """A shape in one of ``SHAPE_FORMS`` forms: 0 ``(None, 28, 28, 8)``, 1 ``(None,28,28,8)``, 2 and 3
    ``(?,28,28,8)``, 4 ``(?,…,8)`` (rank 3 or more: the first and last sizes only)."""
    if shape is None or form == 0:
        return format_shape(shape)
    sizes = [("?" if form >= 2 else "None") if d is None else str(d) for d in shape]
    if form >= 4 and len(sizes) >= 3:
        sizes = [sizes[0], "…", sizes[-1]]
    return f"({sizes[0]},)" if len(sizes) == 1 else f"({','.join(sizes)})"


def shapes(items: tuple[Shape | None, ...], form: int = 0) -> str:
    """One shape per line (from form 3 on, several shapes as the first and a count: ``(?,8)…+2``);
    ``-`` when there is none (a layer that was never called)."""
    if not items:
        return "-"
    if form >= 3 and len(items) > 1:
        return f"{short_shape(items[0], form)}…+{len(items) - 1}"
    return "\n".join(short_shape(s, form) for s in items)


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
