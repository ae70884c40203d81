"""The summary as a table tree (pure: returns styled text, prints nothing).

The table is laid out here rather than by ``rich.table``: a styled ``rich.text.Text`` renders
in milliseconds for models of a thousand layers, where rich's per-cell layout takes seconds.
``.plain`` gives the same table without colour for files, pipes and golden tests.

Given a width (``TableOptions.width``: ``--width``, or the terminal's), the table fits it exactly
(:mod:`modelscope.render.layout`); without one it takes its natural width. A table too wide is
narrowed in this order, each step only when the previous ones were not enough:

1. optional columns leave, one at a time, in ``DROP_ORDER``: Act. memory, MACs, Connected to,
   Calls, Non-train., Type (Layer, Output shape and Params always stay);
2. shapes shorten, in ``SHAPE_FORMS`` order: ``(None, 28, 28, 8)`` → ``(None,28,28,8)`` →
   ``(?,28,28,8)`` → several outputs as the first and a count, ``(?,28,28,8)…+2``;
3. names are cut in their middle with one ``…`` (``transformer_la…_11``), keeping the tree guides
   and at least 12 cells of each name (Type 10, Connected to 12);
4. shapes of rank 3 and more keep their first and last sizes only, ``(?,…,8)``;
5. a last resort for rooms too narrow for all that (below the 60 columns ``--width`` allows):
   text columns narrower still, deep trees losing the left part of their guides.

Runs of identical blocks show as one row marked ``×N`` whose figures are per block (see
:mod:`modelscope.analysis.fold`); ``TableOptions.unfold`` lists every block.

A model known from its variables only (a weights file) drops ``STATIC_DROP_ORDER`` (Dtype, then
Non-train.) in step 1. Columns chosen with ``--columns`` stay as long as anything else can give: steps 2-4 come first,
then the chosen columns leave in ``DROP_ORDER``. A name is never wrapped onto a second line; a
"Connected to" cell keeps one source per line. Lines under the table wrap at spaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.text import Text

from modelscope.analysis.fold import make_view
from modelscope.analysis.memory import TrainingMemory
from modelscope.analysis.view import NO_NAME, View, display_name
from modelscope.model.report import LayerInfo, Report, VariableInfo
from modelscope.model.shapes import Shape
from modelscope.render.fmt import (
    SHAPE_FORMS,
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
from modelscope.render.layout import LAST_RESORT, SQUEEZE, Column, Step, fit, render_rows, rule, wrap
from modelscope.render.safe import printable

NUMERIC = ("Params", "Non-train.", "Calls", "MACs", "Act. memory")
COLUMN_NAMES = {  # --columns names -> headers (Layer always shows)
    "type": "Type", "shape": "Output shape", "params": "Params", "nontrainable": "Non-train.",
    "calls": "Calls", "macs": "MACs", "memory": "Act. memory", "connected": "Connected to",
}  # fmt: skip
DROP_ORDER = ("Act. memory", "MACs", "Connected to", "Calls", "Non-train.", "Type")  # first to leave first
STATIC_DROP_ORDER = ("Dtype", "Non-train.")  # the same for a model known from its variables only
_LEAST = {"Layer": 12, "Connected to": 12, "Type": 10, "Layer / variable": 12}  # cells a cut name keeps
_SHAPES = ("Output shape", "Shape")


@dataclass(frozen=True)
class TableOptions:
    depth: int | None = None
    width: int | None = None  # room available; None: the table takes its natural width
    columns: tuple[str, ...] | None = None  # names from COLUMN_NAMES; None: every column that says something
    macs: bool = True  # the MACs and activation-memory columns and the compute footer
    training: TrainingMemory | None = None  # a training-memory line in the footer
    unfold: bool = False  # every block of a run of identical blocks (default: one row marked ×N)


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


def layer_row(view: View, layer: LayerInfo, prefix: str, sources: dict[str, list[str]]) -> dict[str, Text]:
    name = Text.assemble((prefix, "dim"), (view.label(layer), "bold" if layer.depth == 1 else ""))
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


def own_weights_row(report: Report) -> dict[str, Text] | None:
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


def _steps(drop_order: tuple[str, ...], chosen: bool) -> list[Step]:
    drops = [("drop", c) for c in drop_order]
    shorter = [("shorten", *_SHAPES)] * (SHAPE_FORMS - 2)
    shortest = [("shorten", *_SHAPES)]
    if chosen:  # the user's columns stay as long as anything else can give
        return [*shorter, SQUEEZE, *shortest, *drops, LAST_RESORT]
    return [*drops, *shorter, SQUEEZE, *shortest, LAST_RESORT]


@dataclass
class _Rows:
    cols: list[str]
    cells: list[dict[str, Text]] = field(default_factory=list)
    guides: list[int] = field(default_factory=list)  # each row's tree guides (cells a cut name keeps)
    shapes: list[tuple[Shape | None, ...] | None] = field(default_factory=list)  # None: the cell is text

    def add(self, cells: dict[str, Text], guides: str = "", shapes: tuple[Shape | None, ...] | None = None) -> None:
        self.cells.append(cells)
        self.guides.append(cell_len(guides))
        self.shapes.append(shapes)


def _layout(rows: _Rows, room: int | None, steps: list[Step]) -> Text:
    """The table (header, rule, rows) in ``room`` cells; the shape column's narrower forms are made
    from each row's shapes."""
    columns = []
    for c in rows.cols:
        cells = [row.get(c, Text("")) for row in rows.cells]
        forms = [cells]
        if c in _SHAPES and room is not None:
            forms += [[cell if items is None else Text(shapes(items, level), style=cell.style)
                       for cell, items in zip(cells, rows.shapes)] for level in range(1, SHAPE_FORMS)]  # fmt: skip
        columns.append(Column(c, forms, numeric=c in NUMERIC, least=_LEAST.get(c),
                              keep=rows.guides if c in ("Layer", "Layer / variable") else []))  # fmt: skip
    placed = fit(columns, room, steps)
    header, lines = render_rows(placed)
    out = Text()
    out.append_text(header).append("\n").append_text(rule(placed)).append("\n")
    for row in lines:
        for line in row:
            out.append_text(line).append("\n")
    return out


def static_rows(report: Report, view: View) -> _Rows:
    rows = _Rows(["Layer / variable", "Shape", "Dtype", "Params"])
    if report.totals.non_trainable:
        rows.cols.append("Non-train.")
    for prefix, item in static_entries(report, view):
        if isinstance(item, VariableInfo):
            name = item.path.rpartition("/")[2]
            cells = {"Layer / variable": Text.assemble((prefix, "dim"), (name, "italic")),
                     "Shape": Text(shapes((item.shape,))), "Dtype": Text(item.dtype, style="dim"),
                     "Params": Text(count(item.count)),
                     "Non-train.": Text("" if item.trainable else count(item.count))}  # fmt: skip
            rows.add(cells, prefix, (item.shape,))
        else:
            label = Text.assemble((prefix, "dim"), (display_name(item), "bold"))
            if item.cls:
                label.append(f" ({item.cls})", style="cyan")
            rows.add({"Layer / variable": label, "Params": Text(count(item.params), style="bold"),
                      "Non-train.": Text(count(item.non_trainable) if item.non_trainable else "")}, prefix)  # fmt: skip
    return rows


def _layer_rows(report: Report, view: View, options: TableOptions) -> _Rows:
    rows = _Rows(columns(report, view, options))
    sources = view.sources() if "Connected to" in rows.cols else {}
    layers = view.layers
    for prefix, layer in zip(tree_prefixes(layers), layers):
        rows.add(layer_row(view, layer, prefix, sources), prefix, layer.output_shapes if layer.calls else None)
    own = own_weights_row(report)
    if own:
        rows.add(own)
    return rows


def render_table(report: Report, options: TableOptions = TableOptions()) -> Text:
    """A tree of every layer (down to ``options.depth``) with shapes and parameter counts; for a
    model that was not run (weights file, SavedModel), a tree of layers and their variables. Given
    ``options.width``, everything fits in it (see the module's docstring)."""
    report = printable(report)
    view = make_view(report, options.depth, options.unfold)
    if report.static:
        rows, steps = static_rows(report, view), _steps(STATIC_DROP_ORDER, chosen=False)
    else:
        rows, steps = _layer_rows(report, view, options), _steps(DROP_ORDER, chosen=options.columns is not None)
    text = Text()
    text.append(report.model.name or NO_NAME, style="bold").append(f" ({model_kind(report)})\n")
    text.append_text(_layout(rows, options.width, steps))
    text.append("\n")
    text.append_text(footer(report, options.macs, options.training, view.folded))
    return wrap(text, options.width) if options.width is not None else text


def training_line(m: TrainingMemory) -> str:
    """``3.26 MB = params ... + gradients ... + adam state ... + activations ...`` (see memory.py)."""
    acts = "?" if m.activations is None else human_bytes(m.activations)
    total = "?" if m.total is None else human_bytes(m.total)
    return (
        f"{total} at batch {m.batch_size} with {m.optimizer} = params {human_bytes(m.params)} + gradients "
        f"{human_bytes(m.gradients)} + {m.optimizer} state {human_bytes(m.optimizer_state)} + activations {acts}"
    )


FOLDED_NOTE = (
    "A row marked ×N stands for N identical consecutive blocks; its figures are one block's (unfold lists each)."
)


def footer(report: Report, macs: bool = True, training: TrainingMemory | None = None, folded: bool = False) -> Text:
    """The totals (the whole model's, whatever rows were folded) and what else is known."""
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
    if folded:
        lines.append(FOLDED_NOTE + "\n", style="dim")
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
