"""``modelscope diff`` as HTML for notebooks: the rows of ``render_diff_text``, tinted by status
(added green, removed red, changed amber) and marked ``+`` / ``−`` / ``~`` so they read without
colour too (pure)."""

from __future__ import annotations

from modelscope.analysis.diff import ArchitectureDiff, Comparison, LayerChange, WeightsDiff
from modelscope.render.diff import describe, diff_rows, totals_line
from modelscope.render.html_base import Column, cell, document, esc, table, width
from modelscope.render.safe import printable

_MARK = {"added": "+", "removed": "\u2212", "changed": "~", "same": "="}
_TINT = {"added": "ad", "removed": "rm", "changed": "cg", "same": ""}
_LAYERS = (Column(""), Column("Layer", cap=60), Column("Class", cap=28), Column("Change", cap=90))
_MOVED = (Column("Layer", cap=60), Column("rel. L2 change", numeric=True))
_VARIABLES = (
    Column("Variable", cap=60), Column("rel. L2", numeric=True), Column("max |B-A|", numeric=True),
    Column("changed", numeric=True), Column("NaN/Inf"),
)  # fmt: skip


def _grid(cols: tuple[Column, ...], rows: list[tuple[list[str], str]]) -> str:
    """A table of plain-text rows, each with its row class (a tint, or none)."""
    widths = [max((width(cells[k]) for cells, _ in rows), default=0) for k in range(len(cols))]
    body = "\n".join(
        f'<div class="r{" " + tint if tint else ""}">'
        + " ".join(cell(text, col.numeric, "mk" if col.name == "" else "") for text, col in zip(cells, cols))
        + "</div>"
        for cells, tint in rows
    )
    return table(cols, widths, body)


def _change_row(c: LayerChange) -> tuple[list[str], str]:
    change = "" if c.status == "same" else describe(c).replace("; ", "\n")  # one aspect a line
    return [_MARK[c.status], c.path, c.cls[1] or c.cls[0] or "", change], _TINT[c.status]


def _architecture(arch: ArchitectureDiff, show_all: bool) -> list[str]:
    rows = diff_rows(arch, show_all)
    if arch.equal:
        status = f"Architecture: the same ({len(arch.layers)} layers)"
    else:
        status = f"Architecture: {len(arch.changed)} of {len(arch.layers)} layers differ"
    parts = [f'<div class="p b">{esc(status)}</div>']
    if rows:
        parts.append(_grid(_LAYERS, [_change_row(c) for c in rows]))
    parts.append(f'<div class="p"><span class="b">Totals:</span> {esc(totals_line(arch))}</div>')
    return parts


def _weights(weights: WeightsDiff, show_all: bool) -> list[str]:
    moved = [v for v in weights.variables if v.changed or show_all]
    status = f"Weights: {len(weights.variables)} variables compared, {len(moved)} changed"
    parts = [f'<div class="p b">{esc(status)}</div>']
    if weights.unmatched:
        parts.append(f'<div class="p w">Not comparable: {esc(", ".join(weights.unmatched))}</div>')
    if not moved and not show_all:
        return parts
    parts.append('<div class="p">Layers by how far they moved (relative L2 change ||B-A|| / ||A||):</div>')
    parts.append(_grid(_MOVED, [([layer, f"{rel:.4g}"], "") for layer, rel in weights.layers if rel or show_all]))
    rows = []
    for v in sorted(moved, key=lambda v: -(v.relative_l2 if v.relative_l2 is not None else v.abs_l2)):
        rel = "-" if v.relative_l2 is None else f"{v.relative_l2:.4g}"
        cells = [v.path, rel, f"{v.max_abs:.4g}", f"{v.changed:.1%}", "new" if v.new_nan_inf else ""]
        rows.append((cells, "rm" if v.new_nan_inf else ""))
    parts.append(_grid(_VARIABLES, rows))
    return parts


def render_diff_html(comparison: Comparison, show_all: bool = False) -> str:
    """What differs between two models, as :func:`~modelscope.render.diff.render_diff_text` says
    it: architecture rows (only the differing ones unless ``show_all``), totals, weights."""
    c = printable(comparison)
    names = f'<span class="b">{esc(c.a)}</span> → <span class="b">{esc(c.b)}</span>'
    parts = [f'<div class="hd">modelscope diff: {names}</div>']
    if c.architecture is not None:
        parts += _architecture(c.architecture, show_all)
    if c.weights is not None:
        parts += _weights(c.weights, show_all)
    return document(*parts)
