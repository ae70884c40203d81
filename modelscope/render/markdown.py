"""The summary as a GitHub-flavoured Markdown table, for READMEs and pull requests (pure)."""

from __future__ import annotations

from modelscope.render.fmt import count, params_line, shapes
from modelscope.render.table import tree_prefixes
from modelscope.report import Report
from modelscope.view import View, display_name

_NBSP = "\u00a0"


def _code(text: str) -> str:
    """A code span safe inside a table cell: names and shapes need no other escaping there."""
    if not text:
        return ""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    body = text.replace("|", "\\|").replace("\n", " ")
    return f"{fence}{pad}{body}{pad}{fence}"


def _lines(items: list[str]) -> str:
    return "<br>".join(_code(i) for i in items)


def render_markdown(report: Report, depth: int | None = None) -> str:
    view = View(report, depth)
    layers = view.layers
    m, t = report.model, report.totals
    show_calls = any(l.calls != 1 for l in layers)
    header = ["Layer", "Type", "Output shape", "Params"] + (["Calls"] if show_calls else [])
    out = [f"### {_code(m.name)} ({_code(m.cls)}, {m.kind})", ""]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join("---:" if h in ("Params", "Calls") else "---" for h in header) + "|")
    for prefix, layer in zip(tree_prefixes(layers), layers):
        guide = prefix.replace(" ", _NBSP)
        params = count(layer.params) if layer.built else "unbuilt"
        shape = _lines(shapes(layer.output_shapes).split("\n")) if layer.calls else "not called"
        row = [guide + _code(display_name(layer)), _code(layer.cls), shape, params]
        if show_calls:
            row.append(str(layer.calls))
        out.append("| " + " | ".join(row) + " |")
    out += [
        "",
        f"- **Total params:** {params_line(t.params, t.bytes)}",
        f"- **Trainable params:** {params_line(t.trainable, t.trainable_bytes)}",
        f"- **Non-trainable params:** {params_line(t.non_trainable, t.bytes - t.trainable_bytes)}",
    ]
    for label, items in (("Input", report.inputs), ("Output", report.outputs)):
        for item in items:
            named = f"{_code(item.name)} " if len(items) > 1 else ""
            out.append(f"- **{label}:** {named}{_code(shapes((item.shape,)))} {item.dtype}")
    return "\n".join(out) + "\n"
