"""The summary as a table tree (pure: returns styled text, prints nothing).

The table is laid out here rather than by ``rich.table``: a styled ``rich.text.Text`` renders
in milliseconds for models of a thousand layers, where rich's per-cell layout takes seconds.
``.plain`` gives the same table without colour for files, pipes and golden tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text

from modelscope.analysis.memory import TrainingMemory
from modelscope.analysis.view import NO_NAME, View, display_name
from modelscope.model.report import LayerInfo, Report, VariableInfo
from modelscope.render.fmt import (
    GAP,
    compute_line,
    count,
    human_bytes,
    metric,
    model_kind,
    params_line,
    shapes,
    signature_lines,
    static_entries,
    tree_prefixes,
)
from modelscope.render.safe import printable

_NUMERIC = ("Params", "Non-train.", "Calls", "MACs", "Act. memory")
COLUMN_NAMES = {  # --columns names -> headers (Layer always shows)
    "type": "Type", "shape": "Output shape", "params": "Params", "nontrainable": "Non-train.",
    "calls": "Calls", "macs": "MACs", "memory": "Act. memory", "connected": "Connected to",
}  # fmt: skip
_FLOORS = {"Layer": 16, "Connected to": 12, "Type": 10, "Layer / variable": 16}  # narrowest a text column gets


@dataclass(frozen=True)
class TableOptions:
    depth: int | None = None
    width: int | None = None  # room available; None: the table takes its natural width
    columns: tuple[str, ...] | None = None  # names from COLUMN_NAMES; None: every column that says something
    macs: bool = True  # the MACs and activation-memory columns and the compute footer
    training: TrainingMemory | None = None  # a training-memory line in the footer


def columns(report: Report, view: View, options: TableOptions = TableOptions()) -> list[str]:
    """The columns to show: those chosen, else the ones that say something for this report."""
    if options.columns is not None:
        return ["Layer", *(COLUMN_NAMES[c] for c in options.columns)]
    cols = ["Layer", "Type", "Output shape", "Params"]
    if report.totals.non_trainable:
        cols.append("Non-train.")
    if any(l.calls != 1 for l in view.layers):
        cols.append("Calls")
    if options.macs and report.totals.macs is not None:
        cols += ["MACs", "Act. memory"]
    if not view.is_chain():
        cols.append("Connected to")
    return cols


def _connections(view: View, path: str, sources: dict[str, list[str]]) -> str:
    names = []
    for src in sources.get(path, ()):
        names.append(src if src.startswith("input:") else display_name(view.report.layer(src)))
    return "\n".join(names)


def _layer_row(view: View, layer: LayerInfo, prefix: str, sources: dict[str, list[str]]) -> dict[str, Text]:
    name = Text.assemble((prefix, "dim"), (display_name(layer), "bold" if layer.depth == 1 else ""))
    called = layer.calls > 0
    return {
        "Layer": name,
        "Type": Text(layer.cls, style="cyan"),
        "Output shape": Text(shapes(layer.output_shapes) if called else "not called",
                             style="" if called else "yellow"),
        "Params": Text("unbuilt", style="bold yellow") if not layer.built
        else Text(count(layer.params), style="dim" if layer.params == 0 else ""),
        "Non-train.": Text(count(layer.non_trainable) if layer.non_trainable else ""),
        "Calls": Text(str(layer.calls) if layer.calls != 1 else ""),
        "MACs": Text(metric(layer.macs) if layer.calls else "", style="yellow" if layer.macs is None else
                     "dim" if not layer.macs else ""),
        "Act. memory": Text(_bytes_or_unknown(layer.activation_bytes) if layer.calls else "", style="dim"),
        "Connected to": Text(_connections(view, layer.path, sources)),
    }  # fmt: skip


def _bytes_or_unknown(size: int | None) -> str:
    return "?" if size is None else human_bytes(size)


def _own_weights_row(report: Report) -> dict[str, Text] | None:
    """A row for variables the model holds itself (``self.add_weight`` in the model)."""
    own = [v for v in report.variables if v.layer == ""]
    if not own:
        return None
    frozen = sum(v.count for v in own if not v.trainable)
    return {
        "Layer": Text("(own weights)", style="italic"),
        "Type": Text(", ".join(v.path for v in own), style="dim"),
        "Params": Text(count(sum(v.count for v in own))),
        "Non-train.": Text(count(frozen) if frozen else ""),
    }


def _fit(widths: list[int], cols: list[str], room: int | None) -> list[int]:
    """Narrow the text columns (down to a floor each) until the table fits ``room``.

    Numbers and shapes never shrink; if the floors are reached the table stays wider.
    """
    if room is None:
        return widths
    widths = list(widths)
    excess = sum(widths) + len(GAP) * (len(widths) - 1) - room
    while excess > 0:
        candidates = [i for i, c in enumerate(cols) if c in _FLOORS and widths[i] > _FLOORS[c]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i] - _FLOORS[cols[i]])
        widths[widest] -= 1
        excess -= 1
    return widths


def _cell_lines(cell: Text, width: int) -> list[Text]:
    """The cell's lines, each folded to ``width`` cells (long names wrap, never get cut)."""
    lines: list[Text] = []
    for line in cell.split("\n", allow_blank=True):
        if cell_len(line.plain) <= width:
            lines.append(line)
            continue
        cuts, used = [], 0
        for i, ch in enumerate(line.plain):
            used += cell_len(ch)
            if used > width:
                cuts.append(i)
                used = cell_len(ch)
        lines.extend(line.divide(cuts))
    return lines or [Text("")]


def _layout(cols: list[str], rows: list[dict[str, Text]], room: int | None) -> Text:
    natural = [len(c) for c in cols]
    for row in rows:
        for i, col in enumerate(cols):
            for line in row.get(col, Text("")).plain.split("\n"):
                natural[i] = max(natural[i], cell_len(line))
    widths = _fit(natural, cols, room)
    out = Text()

    def emit(cells: list[Text]) -> None:
        split = [_cell_lines(cell, w) for cell, w in zip(cells, widths)]
        for k in range(max(len(s) for s in split)):
            parts = []
            for i, (lines, w) in enumerate(zip(split, widths)):
                piece = lines[k] if k < len(lines) else Text("")
                pad = " " * max(w - cell_len(piece.plain), 0)
                parts.append(Text(pad) + piece if cols[i] in _NUMERIC else piece + Text(pad))
            line = Text(GAP).join(parts)
            line.rstrip()
            out.append_text(line)
            out.append("\n")

    emit([Text(c, style="bold") for c in cols])
    out.append("─" * (sum(widths) + len(GAP) * (len(widths) - 1)) + "\n", style="dim")
    for row in rows:
        emit([row.get(c, Text("")) for c in cols])
    return out


def _static_rows(report: Report, view: View) -> tuple[list[str], list[dict[str, Text]]]:
    cols = ["Layer / variable", "Shape", "Dtype", "Params"]
    if report.totals.non_trainable:
        cols.append("Non-train.")
    rows = []
    for prefix, item in static_entries(report, view):
        if isinstance(item, VariableInfo):
            name = item.path.rpartition("/")[2]
            rows.append({"Layer / variable": Text.assemble((prefix, "dim"), (name, "italic")),
                         "Shape": Text(shapes((item.shape,))), "Dtype": Text(item.dtype, style="dim"),
                         "Params": Text(count(item.count)),
                         "Non-train.": Text("" if item.trainable else count(item.count))})  # fmt: skip
        else:
            label = Text.assemble((prefix, "dim"), (display_name(item), "bold"))
            if item.cls:
                label.append(f" ({item.cls})", style="cyan")
            rows.append({"Layer / variable": label, "Params": Text(count(item.params), style="bold"),
                         "Non-train.": Text(count(item.non_trainable) if item.non_trainable else "")})  # fmt: skip
    return cols, rows


def render_table(report: Report, options: TableOptions = TableOptions()) -> Text:
    """A tree of every layer (down to ``options.depth``) with shapes and parameter counts; for a
    model that was not run (weights file, SavedModel), a tree of layers and their variables."""
    report = printable(report)
    view = View(report, options.depth)
    layers = view.layers
    if report.static:
        cols, rows = _static_rows(report, view)
    else:
        cols = columns(report, view, options)
        sources = view.sources() if "Connected to" in cols else {}
        rows = [_layer_row(view, l, p, sources) for p, l in zip(tree_prefixes(layers), layers)]
        own = _own_weights_row(report)
        if own:
            rows.append(own)
    text = Text()
    text.append(report.model.name or NO_NAME, style="bold").append(f" ({model_kind(report)})\n")
    text.append_text(_layout(cols, rows, options.width))
    text.append("\n")
    text.append_text(footer(report, options.macs, options.training))
    return text


def training_line(m: TrainingMemory) -> str:
    """``3.26 MB = params ... + gradients ... + adam state ... + activations ...`` (see memory.py)."""
    acts = "?" if m.activations is None else human_bytes(m.activations)
    total = "?" if m.total is None else human_bytes(m.total)
    return (
        f"{total} at batch {m.batch_size} with {m.optimizer} = params {human_bytes(m.params)} + gradients "
        f"{human_bytes(m.gradients)} + {m.optimizer} state {human_bytes(m.optimizer_state)} + activations {acts}"
    )


def footer(report: Report, macs: bool = True, training: TrainingMemory | None = None) -> Text:
    t = report.totals
    lines = Text()
    lines.append("Total params: ", style="bold").append(params_line(t.params, t.bytes) + "\n")
    lines.append("Trainable params: ", style="bold").append(params_line(t.trainable, t.trainable_bytes) + "\n")
    lines.append("Non-trainable params: ", style="bold")
    lines.append(params_line(t.non_trainable, t.bytes - t.trainable_bytes) + "\n")
    by_dtype = report.bytes_by_dtype
    if len(by_dtype) > 1:
        parts = ", ".join(f"{dtype} {human_bytes(size)}" for dtype, size in by_dtype.items())
        lines.append("Parameter bytes by dtype: ", style="bold").append(parts + "\n")
    compute = compute_line(report) if macs else None
    if compute:
        lines.append("Compute: ", style="bold").append(compute + "\n")
    if training is not None:
        lines.append("Training memory: ", style="bold").append(training_line(training) + "\n")
    for label, items in (("Input", report.inputs), ("Output", report.outputs)):
        for item in items:
            named = f"{item.name} " if len(items) > 1 else ""
            lines.append(f"{label}: ", style="bold").append(f"{named}{shapes((item.shape,))} {item.dtype}\n")
    if report.signatures:
        lines.append("Signatures:\n", style="bold")
        for line in signature_lines(report):
            lines.append(f"  {line}\n")
    if report.model.kind == "weights":
        lines.append("A weights file does not record which variables are trainable: all are counted as "
                     "trainable.\n", style="dim")  # fmt: skip
    unbuilt = report.unbuilt
    if unbuilt:
        names = ", ".join(l.path for l in unbuilt)
        lines.append(f"Warning: {len(unbuilt)} layer(s) still unbuilt after the trace, "
                     f"their weights not counted: {names}\n", style="yellow")  # fmt: skip
    for warning in report.warnings:
        lines.append(f"Warning: {warning}\n", style="yellow")
    return lines
