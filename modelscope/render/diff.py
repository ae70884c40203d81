"""``modelscope diff`` output: text table, Markdown (for a pull request) and JSON (pure)."""

from __future__ import annotations

import json
from typing import Any

from modelscope.analysis.diff import ArchitectureDiff, LayerChange, WeightsDiff
from modelscope.render.fmt import inline_shapes
from modelscope.render.safe import code_span, fenced, printable

SCHEMA = "modelscope.diff/1"
_MARK = {"added": "+", "removed": "-", "changed": "~", "same": "="}


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def describe(c: LayerChange) -> str:
    """``params 100,416 -> 101,985 (+1,569); output (None, 64) -> (None, 65); units 64 -> 65``."""
    if c.status == "added":
        return f"{inline_shapes(c.output_shapes[1])}, {_n(c.params[1])} params"
    if c.status == "removed":
        return f"{inline_shapes(c.output_shapes[0])}, {_n(c.params[0])} params"
    parts = []
    if c.cls[0] != c.cls[1]:
        parts.append(f"class {c.cls[0]} -> {c.cls[1]}")
    a, b = c.params
    if a != b:
        parts.append(f"params {_n(a)} -> {_n(b)} ({(b or 0) - (a or 0):+,})")
    for i, label in ((0, "input"), (1, "output")):
        shapes = (c.input_shapes, c.output_shapes)[i]
        if shapes[0] != shapes[1]:
            parts.append(f"{label} {inline_shapes(shapes[0])} -> {inline_shapes(shapes[1])}")
    parts += [f"{key} {json.dumps(old)} -> {json.dumps(new)}" for key, (old, new) in c.config.items()]
    return "; ".join(parts) or "unchanged"


def totals_line(arch: ArchitectureDiff) -> str:
    parts = []
    split_changed = arch.totals["non_trainable"][0] != arch.totals["non_trainable"][1]
    for key, (a, b) in arch.totals.items():
        if key == "params" or (split_changed and a != b):  # the trainable split: only when it is news
            pct = f", {(b - a) / a:+.2%}" if a and a != b else ""
            parts.append(f"{key} {a:,} -> {b:,} ({b - a:+,}{pct})" if a != b else f"{key} {a:,} (unchanged)")
    return "; ".join(parts)


def diff_rows(arch: ArchitectureDiff, show_all: bool) -> list[LayerChange]:
    return list(arch.layers if show_all else arch.changed)


def _weight_lines(weights: WeightsDiff, show_all: bool) -> list[str]:
    moved = [v for v in weights.variables if v.changed or show_all]
    lines = [f"Weights: {len(weights.variables)} variables compared, {len(moved)} changed"
             + (f"; not comparable: {', '.join(weights.unmatched)}" if weights.unmatched else "")]  # fmt: skip
    if not moved and not show_all:
        return lines
    width = max([len(layer) for layer, _ in weights.layers] + [5])
    lines.append("  layers by how far they moved (relative L2 change ||B-A|| / ||A||):")
    lines += [f"    {layer:<{width}}  {rel:.4g}" for layer, rel in weights.layers if rel or show_all]
    vwidth = max([len(v.path) for v in moved] + [8])
    lines.append(f"  {'variable':<{vwidth}}  {'rel. L2':>9}  {'max |B-A|':>10}  {'changed':>8}  NaN/Inf")
    for v in sorted(moved, key=lambda v: -(v.relative_l2 if v.relative_l2 is not None else v.abs_l2)):
        rel = "-" if v.relative_l2 is None else f"{v.relative_l2:.4g}"
        lines.append(f"  {v.path:<{vwidth}}  {rel:>9}  {v.max_abs:>10.4g}  {v.changed:>8.1%}  "
                     f"{'new' if v.new_nan_inf else ''}")  # fmt: skip
    return lines


def render_diff_text(a: str, b: str, arch: ArchitectureDiff | None, weights: WeightsDiff | None,
                     show_all: bool = False) -> str:  # fmt: skip
    a, b, arch, weights = printable((a, b, arch, weights))
    lines = [f"modelscope diff: {a} -> {b}"]
    if arch is not None:
        rows = diff_rows(arch, show_all)
        if arch.equal:
            lines.append(f"Architecture: the same ({len(arch.layers)} layers)")
        else:
            lines.append(f"Architecture: {len(arch.changed)} of {len(arch.layers)} layers differ")
        path_w = max([len(c.path) for c in rows] + [5])
        cls_w = max([len(c.cls[1] or c.cls[0] or "") for c in rows] + [5])
        for c in rows:
            lines.append(f"  {_MARK[c.status]} {c.path:<{path_w}}  {(c.cls[1] or c.cls[0] or ''):<{cls_w}}  "
                         f"{describe(c) if c.status != 'same' else ''}".rstrip())  # fmt: skip
        lines.append(f"Totals: {totals_line(arch)}")
    if weights is not None:
        lines += _weight_lines(weights, show_all)
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """A table cell of prose: nothing in it can end the cell, open a code span or start HTML."""
    return text.replace("|", "\\|").replace("`", "\\`").replace("<", "&lt;")


def render_diff_markdown(a: str, b: str, arch: ArchitectureDiff | None, weights: WeightsDiff | None,
                         show_all: bool = False) -> str:  # fmt: skip
    a, b, arch, weights = printable((a, b, arch, weights))
    out = [f"### modelscope diff: {code_span(a)} → {code_span(b)}", ""]
    if arch is not None:
        rows = diff_rows(arch, show_all)
        if rows:
            out += ["| | layer | class | change |", "|---|---|---|---|"]
            out += [f"| {_MARK[c.status]} | {code_span(c.path)} | {code_span(c.cls[1] or c.cls[0] or '')} | "
                    f"{_cell(describe(c))} |"
                    for c in rows]  # fmt: skip
        else:
            out.append("Architecture: the same.")
        out += ["", f"**Totals:** {totals_line(arch)}"]
    if weights is not None:
        out += ["", *fenced(_weight_lines(weights, show_all))]
    return "\n".join(out) + "\n"


def render_diff_json(a: str, b: str, arch: ArchitectureDiff | None, weights: WeightsDiff | None,
                     show_all: bool = False) -> str:  # fmt: skip
    return json.dumps(diff_dict(a, b, arch, weights, show_all), indent=2) + "\n"


def diff_dict(a: str, b: str, arch: ArchitectureDiff | None, weights: WeightsDiff | None,
              show_all: bool = False) -> dict[str, Any]:  # fmt: skip
    def shapes(items: Any) -> Any:
        return None if items is None else [None if s is None else list(s) for s in items]

    data: dict[str, Any] = {"schema": SCHEMA, "a": a, "b": b, "equal": not differs(arch, weights, "any")}
    if arch is not None:
        data["layers"] = [
            {"path": c.path, "status": c.status, "class": list(c.cls), "params": list(c.params),
             "input_shapes": [shapes(c.input_shapes[0]), shapes(c.input_shapes[1])],
             "output_shapes": [shapes(c.output_shapes[0]), shapes(c.output_shapes[1])],
             "config": {k: list(v) for k, v in c.config.items()}, "what": c.what}
            for c in diff_rows(arch, show_all)
        ]  # fmt: skip
        data["totals"] = {k: list(v) for k, v in arch.totals.items()}
    if weights is not None:
        data["weights"] = {
            "variables": [{"path": v.path, "layer": v.layer, "shape": list(v.shape), "relative_l2": v.relative_l2,
                           "abs_l2": v.abs_l2, "max_abs": v.max_abs, "changed": v.changed,
                           "new_nan_inf": v.new_nan_inf} for v in weights.variables],
            "layers": [{"layer": layer, "relative_l2": rel} for layer, rel in weights.layers],
            "unmatched": list(weights.unmatched),
        }  # fmt: skip
    return data


def differs(arch: ArchitectureDiff | None, weights: WeightsDiff | None, check: str) -> bool:
    """Whether the models differ in what ``check`` looks at: any, architecture or weights."""
    arch_differs = arch is not None and not arch.equal
    weights_differ = weights is not None and (any(v.changed for v in weights.variables) or bool(weights.unmatched))
    return {"any": arch_differs or weights_differ, "architecture": arch_differs, "weights": weights_differ}[check]
