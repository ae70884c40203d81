"""A profile as HTML for notebooks (``ProfileReport._repr_html_``): the rows of
:func:`~modelscope.render.profile.render_profile_table` as a tree whose containers fold (pure).

The columns, cells, highlighted slowest rows and footer are the text table's own
(:func:`~modelscope.render.profile.row_cells`, :func:`~modelscope.render.profile.footer_lines`);
the HTML is built as :mod:`modelscope.render.html_base` describes (one grid, ``<details open>``
per container, every string escaped after :func:`~modelscope.render.safe.printable`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from modelscope.analysis.view import NO_NAME, display_name
from modelscope.model.profile import ProfileReport
from modelscope.model.report import LayerInfo
from modelscope.render.fmt import model_kind
from modelscope.render.html_base import Column, Row, document, esc, table, tree_rows, width
from modelscope.render.profile import NUMERIC, ProfileOptions, footer_lines, profile_columns, row_cells
from modelscope.render.safe import printable

_CAPS = {"Layer": 48, "Type": 28, "Output shape": 32}  # widest (ch) before wrapping
_INDENT = 2  # ch per nesting level
_MARKER = 2  # ch for the disclosure triangle before each name
_HOT = "bold red"


def _row(profile: ProfileReport, layer: LayerInfo, cols: Sequence[str], hot: bool) -> dict[str, Text]:
    """A layer's cells as styled text: the slowest rows' name and time in bold red, as in the table."""
    values = row_cells(profile, layer)
    row = {"Layer": Text(display_name(layer), style=_HOT if hot else "bold" if layer.depth == 1 else "")}
    for c in cols[1:]:
        style = _HOT if hot and c == "Time (ms)" else "cyan" if c == "Type" else ""
        row[c] = Text(values.get(c, ""), style="dim" if values.get(c) == "not called" else style)
    return row


def _widths(cols: Sequence[str], rows: Sequence[Row]) -> list[int]:
    widths = [0] * len(cols)
    for depth, row in rows:
        for k, c in enumerate(cols):
            extra = _INDENT * (depth - 1) + _MARKER if k == 0 else 0
            widths[k] = max(widths[k], width(row[c].plain) + extra)
    return widths


def _footer(profile: ProfileReport) -> str:
    lines = []
    for label, text in footer_lines(profile):
        dim = ' class="m"' if label in ("Method", "Note") else ""
        lines.append(f'<div{dim}><span class="b">{esc(label)}: </span>{esc(text)}</div>')
    return '<div class="ft">' + "\n".join(lines) + "</div>"


def render_profile_html(profile: ProfileReport, options: ProfileOptions | None = None) -> str:
    """The profile as self-contained HTML: the summary's tree (down to ``options.depth``) with each
    layer's times, share, MAC/s and output bytes, the slowest rows highlighted, containers folding,
    and the footer saying how every figure was measured. ``options.width`` is ignored (a notebook
    scrolls a wide table sideways)."""
    options = options or ProfileOptions()
    profile = printable(profile)  # names and the timings' paths alike, so they still match
    report = profile.report
    cols = profile_columns(profile)
    hot = set(profile.slowest(options.slowest, options.depth))
    rows: list[Row] = [(l.depth, _row(profile, l, cols, l.path in hot)) for l in report.walk(options.depth)]
    deepest = max((depth for depth, _ in rows), default=1)
    indent = _INDENT * (deepest - 1) + _MARKER
    grid = [Column(c, c in NUMERIC, _CAPS[c] + (indent if k == 0 else 0) if c in _CAPS else None)
            for k, c in enumerate(cols)]  # fmt: skip
    head = (f'<div class="hd"><span class="b">{esc(report.model.name or NO_NAME)}</span> '
            f"({esc(model_kind(report))}) · profile</div>")  # fmt: skip
    css = "".join(f".modelscope .d{d}>.n{{padding-left:{_INDENT * (d - 1)}ch}}\n" for d in range(2, deepest + 1))
    return document(
        head, table(grid, _widths(cols, rows), tree_rows(cols, rows, NUMERIC), kind="tr"), _footer(profile), css=css
    )
