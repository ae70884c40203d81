"""Weight statistics as a table, JSON (``modelscope.stats/1``) or CSV (pure functions).

Given a width (``StatsOptions.width``: ``--width``, or the terminal's), the table fits it exactly
(:mod:`modelscope.render.layout`): columns leave one step at a time in ``DROP_ORDER`` — |w| mean,
histogram, dtype, NaN/Inf, zeros, then min and max together (Variable, Shape, mean and std stay) —
then variable names are cut in their middle with one ``…`` (at least 12 cells kept). Layer titles
and flag lines wrap at spaces, never inside a name or a number.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import math
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from modelscope.analysis.stats import RULES, LayerStats, Moments, StatsReport, VariableStats
from modelscope.analysis.view import NO_NAME
from modelscope.render.layout import LAST_RESORT, SQUEEZE, Column, fit, render_rows, rule, wrap
from modelscope.render.safe import printable

SCHEMA = "modelscope.stats/1"
SORT_KEYS = ("path", "count", "mean", "std", "min", "max", "abs_mean", "l2", "zeros", "nan", "inf")
_SPARKS = " ▁▂▃▄▅▆▇█"
HEADER = ("Variable", "Shape", "dtype", "mean", "std", "min", "max", "|w| mean", "zeros", "NaN/Inf", "histogram")
_NUMERIC = ("mean", "std", "min", "max", "|w| mean", "zeros")
DROP_ORDER = (("|w| mean",), ("histogram",), ("dtype",), ("NaN/Inf",), ("zeros",), ("min", "max"))  # first first


@dataclass(frozen=True)
class StatsOptions:
    filter: str | None = None  # glob on variable paths (and layer paths)
    sort: str | None = None  # a key of SORT_KEYS; numbers sort largest first
    width: int | None = None  # room for the table; None: its natural width


def _moments_dict(m: Moments) -> dict[str, Any]:
    return {"count": m.count, "mean": m.mean, "std": m.std, "min": m.min, "max": m.max, "abs_mean": m.abs_mean,
            "l2": m.l2, "zeros": m.zeros, "nan": m.nan, "inf": m.inf}  # fmt: skip


def _sort_value(stat: VariableStats, key: str) -> Any:
    if key == "path":
        return stat.info.path
    value = getattr(stat.moments, key)
    return -abs(value) if key in ("mean", "min", "max") and value is not None else (
        -value if value is not None else float("inf"))  # fmt: skip


def select(stats: StatsReport, options: StatsOptions) -> tuple[list[VariableStats], list[LayerStats], list]:
    """The variables, layers and flags that pass ``options.filter``, variables sorted."""
    match = (lambda p: fnmatch.fnmatchcase(p, options.filter)) if options.filter else (lambda p: True)
    variables = [v for v in stats.variables if match(v.info.path)]
    kept = {v.info.layer for v in variables}
    layers = [l for l in stats.layers if l.path in kept or match(l.path)]
    flags = [f for f in stats.flags if match(f.path)]
    if options.sort:
        variables.sort(key=lambda v: (_sort_value(v, options.sort), v.info.path))  # type: ignore[arg-type]
    return variables, layers, flags


def stats_to_dict(stats: StatsReport, options: StatsOptions = StatsOptions()) -> dict[str, Any]:
    variables, layers, flags = select(stats, options)
    m = stats.report.model
    return {
        "schema": SCHEMA,
        "model": {"name": m.name, "class": m.cls, "kind": m.kind, "source": m.source},
        "variables": [
            {"path": v.info.path, "layer": v.info.layer, "shape": list(v.info.shape), "dtype": v.info.dtype,
             "trainable": v.info.trainable, **_moments_dict(v.moments), "dead_units": v.dead_units,
             "histogram": {"edges": list(v.histogram.edges), "counts": list(v.histogram.counts)}}
            for v in variables
        ],
        "layers": [
            {"path": l.path, "class": l.cls, **_moments_dict(l.moments), "dead_units": l.dead_units,
             "spectral": None if l.spectral is None else {
                 "spectral_norm": l.spectral.spectral_norm, "stable_rank": l.spectral.stable_rank,
                 "condition_number": l.spectral.condition_number, "method": l.spectral.method}}
            for l in layers
        ],
        "flags": [{"path": f.path, "rule": f.rule, "message": f.message} for f in flags],
        "rules": RULES,
        "thresholds": {"exploding": stats.thresholds.exploding, "collapsed": stats.thresholds.collapsed,
                       "dead": stats.thresholds.dead},
        "bins": stats.bins,
    }  # fmt: skip


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: a figure that overflowed is ``null`` (no finite value)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def render_stats_json(stats: StatsReport, options: StatsOptions = StatsOptions()) -> str:
    data = _finite(stats_to_dict(stats, options))
    return json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


CSV_COLUMNS = ("path", "layer", "shape", "dtype", "trainable", "count", "mean", "std", "min", "max", "abs_mean",
               "l2", "zeros", "nan", "inf", "dead_units", "flags")  # fmt: skip


def render_stats_csv(stats: StatsReport, options: StatsOptions = StatsOptions()) -> str:
    variables, _, flags = select(printable(stats), options)
    rules: dict[str, list[str]] = {}
    for f in flags:
        rules.setdefault(f.path, []).append(f.rule)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in variables:
        m = v.moments
        writer.writerow([
            v.info.path, v.info.layer, "x".join(str(d) for d in v.info.shape), v.info.dtype, v.info.trainable,
            m.count, *(("" if x is None else repr(x)) for x in (m.mean, m.std, m.min, m.max, m.abs_mean)),
            repr(m.l2), repr(m.zeros), m.nan, m.inf, "" if v.dead_units is None else v.dead_units,
            " ".join(rules.get(v.info.path, ())),
        ])  # fmt: skip
    return out.getvalue()


def sparkline(counts: tuple[int, ...]) -> str:
    """Bin counts as block characters; any non-empty bin shows at least the lowest block."""
    if not counts:
        return ""
    top = max(counts)
    return "".join(_SPARKS[0 if c == 0 else 1 + (len(_SPARKS) - 2) * c // top] for c in counts)


def number(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def layer_title(layer: LayerStats) -> Text:
    text = Text(layer.path or "(model's own weights)", style="bold")
    if layer.cls:
        text.append(f" ({layer.cls})", style="cyan")
    if layer.spectral is not None:
        s = layer.spectral
        cond = "-" if s.condition_number is None else f"{s.condition_number:.4g}"
        text.append(f"  σmax {s.spectral_norm:.4g} · stable rank {s.stable_rank:.4g} · cond {cond} ({s.method})",
                    style="dim")  # fmt: skip
    return text


def render_stats_table(stats: StatsReport, options: StatsOptions = StatsOptions()) -> Text:
    """One row per variable, grouped under its layer (unless sorted); flagged rows highlighted."""
    variables, layers, flags = select(printable(stats), options)
    flagged = {f.path for f in flags}
    cells: list[list[str]] = []
    by_layer = {l.path: l for l in layers}
    current = object()
    titles: dict[int, Text] = {}
    for v in variables:
        if not options.sort and v.info.layer != current:
            current = v.info.layer
            if v.info.layer in by_layer:
                titles[len(cells)] = layer_title(by_layer[v.info.layer])
        m = v.moments
        name = v.info.path if options.sort else "  " + v.info.path.rpartition("/")[2]
        bad = f"{m.nan}/{m.inf}" if (m.nan or m.inf) else ""
        cells.append([name, "x".join(str(d) for d in v.info.shape) or "scalar", v.info.dtype, number(m.mean),
                      number(m.std), number(m.min), number(m.max), number(m.abs_mean), f"{m.zeros:.1%}", bad,
                      sparkline(v.histogram.counts)])  # fmt: skip
    guides = [0 if options.sort else 2] * len(cells)
    columns = [Column(h, [[Text(row[i]) for row in cells]], numeric=h in _NUMERIC,
                      least=12 if h == "Variable" else None, keep=guides if h == "Variable" else [])
               for i, h in enumerate(HEADER)]  # fmt: skip
    placed = fit(columns, options.width, [("drop", *names) for names in DROP_ORDER] + [SQUEEZE, LAST_RESORT])
    header, lines = render_rows(placed)
    out = Text()
    info = stats.report.model
    out.append(info.name or NO_NAME, style="bold").append(f" ({info.cls or info.kind}) · weight statistics\n")
    out.append_text(header).append("\n").append_text(rule(placed)).append("\n")
    for i, (row, variable) in enumerate(zip(lines, variables)):
        if i in titles:
            out.append_text(wrap(titles[i], options.width, indent=4)).append("\n")
        style = "bold red" if variable.info.path in flagged else ""
        for line in row:
            line.stylize(style)
            out.append_text(line).append("\n")
    out.append("\n")
    if flags:
        out.append(f"{len(flags)} flag(s):\n", style="bold red")
        for f in flags:
            out.append(f"  {f.path}: ", style="red").append(f"{f.rule}: {f.message}\n")
    else:
        out.append("No health flags.\n", style="green")
    return wrap(out, options.width) if options.width is not None else out
