"""The summary as HTML for notebooks (``_repr_html_``): the table of :mod:`modelscope.render.table`
as a collapsible tree (pure; see :mod:`modelscope.render.html_base` for how the HTML is built).

The rows, columns and footer are the text table's own (``columns``, ``footer`` and its row
builders), styled text turned into classes, so the two never disagree. A container (a layer whose
children are shown) is a ``<details open>``: its ``<summary>`` is its row, its children follow it
inside, and clicking the row folds them without any script. Identical blocks show as one row
marked ``×N``, as in the text table (:mod:`modelscope.analysis.fold`). The stats, diff and
profile renderers live in :mod:`modelscope.render.html_stats`, :mod:`modelscope.render.html_diff`
and :mod:`modelscope.render.html_profile` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from modelscope.analysis.fold import make_view
from modelscope.analysis.view import NO_NAME, View
from modelscope.model.report import Report
from modelscope.render.fmt import model_kind, static_entries
from modelscope.render.html_base import Column, Row, document, esc, table, text_lines, tree_rows, width
from modelscope.render.html_diff import render_diff_html
from modelscope.render.html_profile import render_profile_html
from modelscope.render.html_stats import render_stats_html
from modelscope.render.safe import printable
from modelscope.render.table import (
    NUMERIC,
    TableOptions,
    columns,
    footer,
    layer_row,
    own_weights_row,
    static_rows,
)

__all__ = ["render_diff_html", "render_profile_html", "render_report_html", "render_stats_html"]

_CAPS = {"Layer": 48, "Layer / variable": 48, "Type": 28, "Connected to": 40}  # widest (ch) before wrapping
_INDENT = 2  # ch per nesting level
_MARKER = 2  # ch for the disclosure triangle before each name


def _widths(cols: Sequence[str], rows: Sequence[Row]) -> list[int]:
    widths = [0] * len(cols)
    for depth, row in rows:
        for k, c in enumerate(cols):
            if c in row:
                w = width(row[c].plain) + (_INDENT * (depth - 1) + _MARKER if k == 0 else 0)
                widths[k] = max(widths[k], w)
    return widths


def _indent_css(rows: Sequence[Row]) -> str:
    """Indentation of the name cell for each depth present (the same rules for any output)."""
    deepest = max((depth for depth, _ in rows), default=1)
    return "".join(f".modelscope .d{d}>.n{{padding-left:{_INDENT * (d - 1)}ch}}\n" for d in range(2, deepest + 1))


def _static_tree(report: Report, view: View) -> tuple[list[str], list[Row]]:
    """The layer/variable tree of a model known only from stored variables, as the table shows it."""
    table = static_rows(report, view)
    tree: list[Row] = []
    for (prefix, _), row in zip(static_entries(report, view), table.cells, strict=True):
        name = row[table.cols[0]]
        row = {**row, table.cols[0]: name.divide([len(prefix)])[-1] if prefix else name}  # the guides are the tree
        tree.append((len(prefix) // 4, row))
    return table.cols, tree


def _layer_tree(report: Report, view: View, options: TableOptions) -> tuple[list[str], list[Row]]:
    cols = columns(report, view, options)
    sources = view.sources() if "Connected to" in cols else {}
    tree: list[Row] = [(layer.depth, layer_row(view, layer, "", sources)) for layer in view.layers]
    own = own_weights_row(report)
    if own:
        tree.append((1, own))
    return cols, tree


def render_report_html(report: Report, options: TableOptions | None = None) -> str:
    """The summary table as self-contained HTML: a tree of every layer (down to ``options.depth``)
    whose containers fold, the same columns and footer as :func:`~modelscope.render.table.render_table`;
    for a model that was not run (weights file, SavedModel), its layers and their variables.
    ``options.width`` is ignored: the notebook scrolls a wide table sideways."""
    options = options or TableOptions()
    report = printable(report)
    view = make_view(report, options.depth, options.unfold)
    cols, rows = _static_tree(report, view) if report.static else _layer_tree(report, view, options)
    indent = _INDENT * (max((depth for depth, _ in rows), default=1) - 1) + _MARKER  # the cap is for the name
    grid = [Column(c, c in NUMERIC, _CAPS[c] + (indent if k == 0 else 0) if c in _CAPS else None)
            for k, c in enumerate(cols)]  # fmt: skip
    name = esc(report.model.name or NO_NAME)
    head = f'<div class="hd"><span class="b">{name}</span> ({esc(model_kind(report))})</div>'
    body = table(grid, _widths(cols, rows), tree_rows(cols, rows, NUMERIC), kind="tr")
    lines = text_lines(footer(report, options.macs, options.training, view.folded))
    foot = '<div class="ft">' + "\n".join(f"<div>{line}</div>" for line in lines) + "</div>"
    return document(head, body, foot, css=_indent_css(rows))
