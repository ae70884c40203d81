"""Weight statistics as HTML for notebooks: the rows of ``render_stats_table``, each variable's
histogram as a small inline SVG, flagged rows tinted (pure)."""

from __future__ import annotations

from modelscope.analysis.stats import Histogram, StatsReport, VariableStats
from modelscope.analysis.view import NO_NAME
from modelscope.render.html_base import Column, cell, document, esc, table, text_html, width
from modelscope.render.safe import printable
from modelscope.render.stats import StatsOptions, layer_title, number, select

HIST_WIDTH, HIST_HEIGHT = 80, 16
_COLUMNS = (
    Column("Variable", cap=48), Column("Shape", cap=24), Column("dtype"), Column("Count", numeric=True),
    Column("mean", numeric=True), Column("std", numeric=True), Column("min", numeric=True),
    Column("max", numeric=True), Column("|w| mean", numeric=True), Column("zeros", numeric=True),
    Column("NaN/Inf", numeric=True), Column("Flags", cap=24), Column("Histogram", size=f"{HIST_WIDTH}px"),
)  # fmt: skip


def _n(x: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros (``12``, ``4.5``, ``0.25``)."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def histogram_svg(hist: Histogram, width: int = HIST_WIDTH, height: int = HIST_HEIGHT) -> str:
    """Bin counts as bars (one ``<path>``, in the text colour); any non-empty bin at least 1 px
    high. The tooltip gives the value range and the counts."""
    counts = hist.counts
    if not counts:
        return ""
    top, step = max(counts), width / len(counts)
    gap = 0.5 if step >= 3 else 0.0
    bars = []
    for i, c in enumerate(counts):
        if c:
            h = max(1.0, height * c / top)
            bars.append(f"M{_n(i * step)} {height}v-{_n(h)}h{_n(step - gap)}v{_n(h)}z")
    span = f"{hist.edges[0]:.4g} … {hist.edges[-1]:.4g}: " if len(hist.edges) >= 2 else ""
    title = esc(span + " ".join(str(c) for c in counts))
    box = f'class="h" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"'
    path = f'<path fill="currentColor" fill-opacity=".75" d="{"".join(bars)}"/>'
    return f"<svg {box}><title>{title}</title>{path}</svg>"


def _cells(v: VariableStats, name: str, rules: list[str]) -> list[str]:
    m = v.moments
    return [
        name, "x".join(str(d) for d in v.info.shape) or "scalar", v.info.dtype, f"{m.count:,}",
        number(m.mean), number(m.std), number(m.min), number(m.max), number(m.abs_mean), f"{m.zeros:.1%}",
        f"{m.nan}/{m.inf}" if (m.nan or m.inf) else "", ", ".join(rules),
    ]  # fmt: skip


def render_stats_html(result: StatsReport, options: StatsOptions | None = None) -> str:
    """One row per variable, under a title row per layer (unless sorted), as
    :func:`~modelscope.render.stats.render_stats_table` shows them, plus the element count, the
    rules that fired and a histogram; flagged rows tinted red and the flags listed below."""
    options = options or StatsOptions()
    result = printable(result)
    variables, layers, flags = select(result, options)
    rules: dict[str, list[str]] = {}
    for f in flags:
        rules.setdefault(f.path, []).append(f.rule)
    by_layer = {layer.path: layer for layer in layers}
    rows: list[str] = []
    widths = [0] * len(_COLUMNS)
    current: object = object()
    for v in variables:
        if not options.sort and v.info.layer != current:
            current = v.info.layer
            if v.info.layer in by_layer:
                rows.append(f'<div class="g">{text_html(layer_title(by_layer[v.info.layer]))}</div>')
        grouped = not options.sort
        values = _cells(v, v.info.path.rpartition("/")[2] if grouped else v.info.path, rules.get(v.info.path, []))
        for k, value in enumerate(values):
            widths[k] = max(widths[k], width(value) + (2 if grouped and k == 0 else 0))
        flagged = v.info.path in rules
        alarm = "x b" if flagged else ""
        extra = {0: " ".join(filter(None, ("in" if grouped else "", alarm))), 11: alarm}
        cells = [cell(value, col.numeric, extra.get(k, "")) for k, (value, col) in enumerate(zip(values, _COLUMNS))]
        cells.append(f"<span>{histogram_svg(v.histogram)}</span>")
        rows.append(f'<div class="r{" fl" if flagged else ""}">{" ".join(cells)}</div>')
    info = result.report.model
    head = (f'<div class="hd"><span class="b">{esc(info.name or NO_NAME)}</span> ({esc(info.cls or info.kind)})'
            " · weight statistics</div>")  # fmt: skip
    if flags:
        lines = [f'<div class="b x">{len(flags)} flag(s):</div>']
        lines += [f'<div>  <span class="x">{esc(f.path)}: </span>{esc(f.rule)}: {esc(f.message)}</div>' for f in flags]
    else:
        lines = ['<div class="ok">No health flags.</div>']
    return document(head, table(_COLUMNS, widths, "\n".join(rows)), '<div class="ft">' + "\n".join(lines) + "</div>")
