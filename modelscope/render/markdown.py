"""The summary as a GitHub-flavoured Markdown table, for READMEs and pull requests (pure).

Identical blocks show as one row marked ``×N`` with one block's figures unless ``unfold``
(:mod:`modelscope.analysis.fold`); the totals are the whole model's."""

from __future__ import annotations

from modelscope.analysis.fold import make_view
from modelscope.analysis.view import NO_NAME, View, display_name
from modelscope.model.report import LayerInfo, Report, VariableInfo
from modelscope.render.fmt import (
    compute_line,
    count,
    metric,
    model_kind,
    params_line,
    shapes,
    signature_lines,
    static_entries,
    tree_prefixes,
)
from modelscope.render.safe import code_span, markdown_text, printable
from modelscope.render.table import FOLDED_NOTE

_NBSP = "\u00a0"


def _lines(items: list[str]) -> str:
    return "<br>".join(code_span(i) for i in items)


def _static_rows(report: Report, view: View) -> list[list[str]]:
    rows = []
    for prefix, item in static_entries(report, view):
        guide = prefix.replace(" ", _NBSP)
        if isinstance(item, VariableInfo):
            name = item.path.rpartition("/")[2]
            rows.append(
                [guide + code_span(name), code_span(shapes((item.shape,))), code_span(item.dtype), count(item.count)]
            )
        else:
            kind = f" ({code_span(item.cls)})" if item.cls else ""
            rows.append([guide + "**" + code_span(display_name(item)) + "**" + kind, "", "", count(item.params)])
    return rows


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |"]
    out.append("|" + "|".join("---:" if h in ("Params", "Calls", "MACs") else "---" for h in header) + "|")
    return out + ["| " + " | ".join(row) + " |" for row in rows]


def _layer_rows(view: View, layers: list[LayerInfo], macs: bool) -> tuple[list[str], list[list[str]]]:
    show_calls = any(l.calls != 1 for l in layers)
    header = ["Layer", "Type", "Output shape", "Params"] + (["Calls"] if show_calls else [])
    header += ["MACs"] if macs else []
    rows = []
    for prefix, layer in zip(tree_prefixes(layers), layers):
        guide = prefix.replace(" ", _NBSP)
        params = count(layer.params) if layer.built else "unbuilt"
        shape = _lines(shapes(layer.output_shapes).split("\n")) if layer.calls else "not called"
        row = [guide + code_span(view.label(layer)), code_span(layer.cls), shape, params]
        row += [str(layer.calls)] if show_calls else []
        rows.append(row + ([metric(layer.macs) if layer.calls else ""] if macs else []))
    return header, rows


def render_markdown(report: Report, depth: int | None = None, macs: bool = True, unfold: bool = False) -> str:
    """The summary down to ``depth``; identical blocks as one row marked ``×N`` unless ``unfold``."""
    report = printable(report)
    view = make_view(report, depth, unfold)
    layers = view.layers
    m, t = report.model, report.totals
    what = (
        f"{code_span(m.cls)}, {markdown_text(m.kind)}"
        if m.cls and not report.static
        else markdown_text(model_kind(report))
    )
    out = [f"### {code_span(m.name or NO_NAME)} ({what})", ""]
    if report.static:
        out += _table(["Layer / variable", "Shape", "Dtype", "Params"], _static_rows(report, view))
    else:
        out += _table(*_layer_rows(view, layers, macs and t.macs is not None))
    out += [
        "",
        f"- **Total params:** {params_line(t.params, t.bytes)}",
        f"- **Trainable params:** {params_line(t.trainable, t.trainable_bytes)}",
        f"- **Non-trainable params:** {params_line(t.non_trainable, t.bytes - t.trainable_bytes)}",
    ]
    compute = compute_line(report) if macs else None
    if compute:
        out.append(f"- **Compute:** {markdown_text(compute)}")
    for label, items in (("Input", report.inputs), ("Output", report.outputs)):
        for item in items:
            named = f"{code_span(item.name)} " if len(items) > 1 else ""
            out.append(f"- **{label}:** {named}{code_span(shapes((item.shape,)))} {markdown_text(item.dtype)}")
    if report.signatures:
        out.append("- **Signatures:** " + "; ".join(code_span(line) for line in signature_lines(report)))
    if view.folded:
        out.append(f"- **Folded:** {markdown_text(FOLDED_NOTE)}")
    out += [f"- **Warning:** {markdown_text(w)}" for w in report.warnings]
    return "\n".join(out) + "\n"
