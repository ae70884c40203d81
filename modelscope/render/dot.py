"""The traced model as Graphviz DOT (pure: builds source text with the ``graphviz`` package).

One node per layer (a layer called N times is one node marked ``×N``), inputs and outputs as
their own nodes, nested layers as clusters, edges along the traced data flow. Node ids are
layer paths, so the DOT is the same on every run; user-chosen names only ever appear inside
escaped HTML labels, never as markup.

A run of identical blocks (:mod:`modelscope.analysis.fold`) is drawn once, as its first block: a
cluster with a thick border, or a box with a double border, named ``blocks[0…79] ×80``, its
parameters and MACs marked ``each``. An edge into any block of the run comes into the first
block's box (or the child of it at the same relative path); an edge out of any block leaves from
there too; edges between blocks of the run are not drawn. ``GraphOptions.unfold`` draws every block.

With a profile (``modelscope graph --profile FILE.json``) the fill colour says instead how much of
the whole model's forward time a box took: a sequential scale (:data:`SHARE_COLOURS`, light to
dark) in equal steps up to the largest share among the boxes drawn, so the heaviest box is the
darkest; each box and cluster label gives its time and share, and the legend the share each
colour stands for. The profile must be of the same model (:meth:`ProfileReport.check_same_model`).
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

import graphviz

from modelscope.analysis.fold import make_view
from modelscope.errors import UsageError
from modelscope.model.profile import ProfileReport
from modelscope.model.report import CallInfo, LayerInfo, Report
from modelscope.model.shapes import format_shape
from modelscope.render.fmt import metric, model_kind
from modelscope.render.safe import printable

FONT = "Helvetica"
COLOURS = {  # fill colour by what a layer's parameters are
    "trainable": "#dbeafe",
    "non-trainable": "#e5e7eb",
    "mixed": "#fde68a",
    "no params": "#ffffff",
}
LEGEND = {
    "trainable": "trainable params",
    "mixed": "trainable + non-trainable",
    "non-trainable": "non-trainable params only",
    "no params": "no params",
}
INPUT_FILL, OUTPUT_FILL, CLUSTER_FILL = "#dcfce7", "#ffedd5", "#f8fafc"
# Fill by share of the model's time (ColorBrewer OrRd, light to dark; black text stays legible).
SHARE_COLOURS = ("#fff7ec", "#fee8c8", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548")
NOT_TIMED = "#ffffff"


@dataclass(frozen=True)
class GraphOptions:
    depth: int | None = None  # fold anything deeper into its parent's box
    rankdir: str = "TB"  # TB (top to bottom) or LR (left to right)
    show_input_shapes: bool = False
    edge_shapes: bool = False  # label edges with the shape of the tensor they carry
    legend: bool = True
    unroll: bool = False  # one box per call for layers called several times
    macs: bool = False  # add each layer's MACs per sample to its box
    unfold: bool = False  # every block of a run of identical blocks (default: one box marked ×N)


def node_id(path: str) -> str:
    """A DOT node id for a layer path. ``:`` would read as a port and ``<...>`` as an HTML-like
    string, so they are encoded (the ``graphviz`` package quotes everything else)."""
    if len(path) > 200:  # Graphviz rejects strings over 16 KB; a long path keeps a unique short id
        path = f"{path[:150]}~{hashlib.sha1(path.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"
    return path.replace("%", "%25").replace(":", "%3A").replace("<", "%3C").replace(">", "%3E")


def _special(kind: str, name: str) -> str:
    return f"/{kind}/{node_id(name)}"  # layer paths never start with "/": no clash possible


def _call_id(path: str, index: int) -> str:
    return f"/call/{index}/{node_id(path)}"


def param_class(layer: LayerInfo) -> str:
    if layer.params == 0:
        return "no params"
    if layer.non_trainable == 0:
        return "trainable"
    return "non-trainable" if layer.trainable == 0 else "mixed"


_LABEL_LIMIT = 300  # characters of one name in a box; Graphviz rejects very long strings


def _e(text: str) -> str:
    """Text for an HTML-like label. Graphviz (and graphviz-pure) read ``\\\\`` in one as a
    single backslash, so each backslash is doubled."""
    if len(text) > _LABEL_LIMIT:
        text = text[: _LABEL_LIMIT - 1] + "…"
    return html.escape(text, quote=True).replace("\\", "\\\\")


def _bold(text: str) -> str:
    """A bold name; an empty name (``name=''`` is legal in Keras) still makes a valid label."""
    return f"<b>{_e(text)}</b>" if text else "<i>(no name)</i>"


def _small(text: str, size: int = 10) -> str:
    if not text:
        return ""  # Graphviz rejects an empty <font> element
    return f'<font point-size="{size}">{_e(text)}</font>'


def _node_label(layer: LayerInfo, name: str, options: GraphOptions, call: CallInfo | None = None,
                each: bool = False, time: str = "") -> str:  # fmt: skip
    """A box: ``name`` (``×N`` after it for N calls), class, shapes, parameters, ``time`` (from a
    profile); ``each`` marks the figures of one of several identical blocks."""
    if call is not None:
        title = f"{name} (call {call.index + 1} of {layer.calls})"
        inputs, outputs = call.input_shapes, call.output_shapes
    else:
        title = name + (f" {'called ' if each else ''}×{layer.calls}" if layer.calls > 1 else "")
        inputs, outputs = layer.input_shapes, layer.output_shapes
    lines = [_bold(title)] + ([_small(layer.cls)] if layer.cls else [])
    if options.show_input_shapes and inputs:
        lines.append(_small("in: " + ", ".join(format_shape(s) for s in inputs)))
    if layer.calls == 0:
        lines.append(_small("not called"))
    else:
        lines.append(_small(", ".join(format_shape(s) for s in outputs) or "no tensor output"))
    if not layer.built:
        lines.append(_small("unbuilt", 9))
    elif layer.params:
        lines.append(_small(f"{layer.params:,} params{' each' if each else ''}", 9))
    if options.macs and layer.calls and (layer.macs is None or layer.macs):
        lines.append(_small(metric(layer.macs, "MACs") + (" each" if each else ""), 9))
    if time:
        lines.append(f'<font point-size="9"><b>{_e(time)}</b></font>')
    return "<" + "<br/>".join(line for line in lines if line) + ">"


def _cluster_label(layer: LayerInfo, name: str, each: bool = False, time: str = "") -> str:
    parts = [_bold(name)] + ([_e(layer.cls)] if layer.cls else [])
    if layer.params:
        parts.append(_e(f"{layer.params:,} params{' each' if each else ''}"))
    if time:
        parts.append(_e(time))
    return "<" + " · ".join(parts) + ">"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"  # as the profile table shows it


class _Times:
    """A profile's figures for the boxes of a graph: each box's time text and fill colour."""

    def __init__(self, profile: ProfileReport, shown: list[str]) -> None:
        self.profile = profile
        shares = [s for p in shown if (s := profile.share(p)) is not None]
        self.top = max(shares, default=0.0)

    def level(self, path: str) -> int | None:
        """The step of :data:`SHARE_COLOURS` for the box of ``path``: share / largest share in
        equal steps (the largest is the last); None for a layer without a timing."""
        share = self.profile.share(path)
        if share is None:
            return None
        steps = len(SHARE_COLOURS)
        return min(steps - 1, int(share / self.top * steps)) if self.top > 0 else 0

    def fill(self, path: str) -> str:
        level = self.level(path)
        return NOT_TIMED if level is None else SHARE_COLOURS[level]

    def text(self, path: str, calls: int = 1, each: bool = False) -> str:
        t, share = self.profile.timing(path), self.profile.share(path)
        if t is None:
            return "not timed"
        what = f" ({'all ' if calls > 1 else ''}{calls} calls)" if calls > 1 else ""
        return f"{_ms(t.forward.value)} ms · {share or 0:.1%}{what}" + (" (first block)" if each else "")

    def legend(self, levels: set[int | None]) -> list[tuple[str, str, str]]:
        """(key, fill, text) for each colour used: the range of shares it stands for."""
        steps = len(SHARE_COLOURS)
        out = []
        for k in range(steps):
            if k in levels:
                low, high = self.top * k / steps, self.top * (k + 1) / steps
                out.append((f"share{k}", SHARE_COLOURS[k], f"{low:.1%}–{high:.1%} of the model's time"))
        if None in levels:
            out.append(("not timed", NOT_TIMED, "not timed"))
        return out


class _Builder:
    def __init__(self, report: Report, options: GraphOptions, profile: ProfileReport | None = None) -> None:
        self.report, self.options = report, options
        self.view = make_view(report, options.depth, options.unfold)
        boxes = [l.path for l in self.view.layers if not self.view.expanded(l.path)]
        self.times = _Times(profile, boxes) if profile is not None else None
        self.ops_nodes: set[str] = set()  # expanded containers whose own ops are drawn
        self.unrolled = self._unrolled() if options.unroll else set()
        self.edges = self._edges()

    def _unrolled(self) -> set[str]:
        """Boxes drawn once per call: layers called several times whose calls can be told apart
        (folded sublayers, if any, called as often as they are)."""
        chosen = set()
        for layer in self.view.layers:
            if layer.calls > 1 and not self.view.expanded(layer.path):
                inside = [l for l in self.report.layers if l.path.startswith(layer.path + "/")]
                if all(l.calls == layer.calls for l in inside):
                    chosen.add(layer.path)
        return chosen

    def _call_end(self, path: str, index: int, into: bool, ops: bool) -> str | None:
        """An end of a call edge: a per-call box, a model input/output, or the usual node."""
        if path == "":
            names = self.report.inputs if not into else self.report.outputs
            return _special("output" if into else "input", names[index].name)
        visible = self.view.visible(self.view.graph_end(path))
        if visible in self.unrolled:
            return _call_id(visible, index)
        return self._endpoint(path, into, ops)

    def _endpoint(self, path: str, into: bool, ops: bool) -> str | None:
        """The node an edge end attaches to, or None when another edge already carries it."""
        visible = self.view.visible(self.view.graph_end(path))
        if not self.view.expanded(visible):
            return node_id(visible)
        if into and not ops:
            return None  # an expanded container's inputs are drawn into its children
        self.ops_nodes.add(visible)
        return _special("ops", visible)

    def _edges(self) -> list[tuple[str, str, str]]:
        """(tail, head, label) in report order, duplicates dropped."""
        seen: dict[tuple[str, str], str] = {}
        for edge in self.report.edges:
            loop = edge.src == edge.dst
            ends = self.view.graph_edge(edge.src, edge.dst)
            if ends is None:
                continue  # between blocks of one folded run
            src_vis, dst_vis = (self.view.visible(end) for end in ends)
            inside = dst_vis == src_vis or dst_vis.startswith(src_vis + "/") or src_vis.startswith(dst_vis + "/")
            if inside and not loop and not edge.ops:
                continue  # within one folded box
            head = self._endpoint(edge.dst, into=True, ops=edge.ops)
            tail = self._endpoint(edge.src, into=False, ops=False)
            if head is None or tail is None or (head == tail and not loop):
                continue
            if not self._is_unrolled(edge.src, edge.dst):
                seen.setdefault((tail, head), self._shape_label(edge.src))
        for item in self.report.inputs:
            feeds = [(c, False) for c in item.consumers] + [(c, True) for c in item.ops_consumers]
            for consumer, ops in feeds:
                head = self._endpoint(consumer, into=True, ops=ops)
                if head is not None and not self._is_unrolled(consumer):
                    seen.setdefault((_special("input", item.name), head), format_shape(item.shape))
        for out in self.report.outputs:
            for producer in out.producers:
                tail = self._endpoint(producer, into=False, ops=False)
                if tail is not None and not self._is_unrolled(producer):
                    seen.setdefault((tail, _special("output", out.name)), format_shape(out.shape))
        for ce in self.report.call_edges if self.unrolled else ():
            if self.view.graph_edge(ce.src, ce.dst) is None or not self._is_unrolled(ce.src, ce.dst):
                continue
            tail = self._call_end(ce.src, ce.src_call, into=False, ops=False)
            head = self._call_end(ce.dst, ce.dst_call, into=True, ops=ce.ops)
            if tail is not None and head is not None and tail != head:
                seen.setdefault((tail, head), self._call_shape_label(ce.src, ce.src_call))
        return [(t, h, label) for (t, h), label in seen.items()]

    def _is_unrolled(self, *paths: str) -> bool:
        return any(p and self.view.visible(self.view.graph_end(p)) in self.unrolled for p in paths)

    def _call_shape_label(self, path: str, index: int) -> str:
        if path == "":
            return format_shape(self.report.inputs[index].shape)
        for call in self.report.calls:
            if call.layer == path and call.index == index:
                return ", ".join(format_shape(s) for s in call.output_shapes)
        return self._shape_label(path)

    def _shape_label(self, path: str) -> str:
        return ", ".join(format_shape(s) for s in self.report.layer(path).output_shapes)

    def build(self) -> graphviz.Digraph:
        r, o = self.report, self.options
        title = f"<{_bold(r.model.name)} ({_e(model_kind(r))}) · {r.totals.params:,} params{self._profiled()}>"
        g = graphviz.Digraph(
            name="model",  # a fixed graph id: the model name appears only in the escaped label
            graph_attr={"rankdir": o.rankdir, "fontname": FONT, "fontsize": "11", "nodesep": "0.3",
                        "ranksep": "0.35", "labelloc": "t", "label": title},
            node_attr={"shape": "box", "style": "rounded,filled", "fontname": FONT, "fontsize": "11",
                       "penwidth": "0.8", "margin": "0.12,0.05"},
            edge_attr={"fontname": FONT, "fontsize": "9", "arrowsize": "0.7", "color": "#475569"},
        )  # fmt: skip
        for item in r.inputs:
            label = f"<{_bold(item.name)}<br/>{_small(format_shape(item.shape) + ' ' + item.dtype)}>"
            g.node(_special("input", item.name), label=label, shape="ellipse", fillcolor=INPUT_FILL)
        self._add_layers(g, None)
        for out in r.outputs:
            label = f"<{_bold(out.name)}<br/>{_small(format_shape(out.shape) + ' ' + out.dtype)}>"
            g.node(_special("output", out.name), label=label, shape="ellipse", fillcolor=OUTPUT_FILL)
        for tail, head, label in self.edges:
            g.edge(tail, head, label=label if o.edge_shapes else None)
        if o.legend:
            self._add_legend(g)
        return g

    def _profiled(self) -> str:
        """The title's account of the profile: whole-model time and settings."""
        if self.times is None:
            return ""
        p = self.times.profile
        s = p.settings
        return _e(f" · forward {_ms(p.model_forward.median)} ms (whole model, median) at batch {s.batch_size} on "
                  f"{s.device}")  # fmt: skip

    def _fill(self, layer: LayerInfo) -> str:
        return COLOURS[param_class(layer)] if self.times is None else self.times.fill(layer.path)

    def _time(self, layer: LayerInfo, each: bool = False) -> str:
        return "" if self.times is None else self.times.text(layer.path, layer.calls, each)

    def _add_layers(self, g: graphviz.Digraph, parent: str | None, in_run: bool = False) -> None:
        """Boxes and clusters for the shown children of ``parent``; a folded run's cluster has a
        thick border (which clusters inside it, ``in_run``, would inherit but for a thin one)."""
        for layer in self.view.children(parent):
            name, each = self.view.label(layer), self.view.times(layer.path) > 1
            if self.view.expanded(layer.path):
                with g.subgraph(name="cluster_" + node_id(layer.path)) as c:
                    c.attr(label=_cluster_label(layer, name, each, self._time(layer, each)), style="rounded,filled",
                           fillcolor=CLUSTER_FILL, color="#94a3b8", fontsize="11", labeljust="l")  # fmt: skip
                    if each or in_run:
                        c.attr(penwidth="2.5" if each else "1")
                    if layer.path in self.ops_nodes:
                        c.node(_special("ops", layer.path), label=f"<{_small('ops')}>", shape="box",
                               style="dashed,rounded", fillcolor="white")  # fmt: skip
                    self._add_layers(c, layer.path, in_run or each)
            elif layer.path in self.unrolled:
                fill = self._fill(layer)
                for call in (c for c in self.report.calls if c.layer == layer.path):
                    label = _node_label(layer, name, self.options, call, each, self._time(layer, each))
                    g.node(
                        _call_id(layer.path, call.index),
                        label=label,
                        tooltip=graphviz.nohtml(layer.path[:_LABEL_LIMIT]),
                        fillcolor=fill,
                    )
            else:
                attrs = {"fillcolor": self._fill(layer)}
                if not layer.built or layer.calls == 0:
                    attrs |= {"style": "rounded,filled,dashed", "color": "#dc2626" if not layer.built else "#64748b"}
                if each:
                    attrs["peripheries"] = "2"  # a stack of identical blocks
                g.node(
                    node_id(layer.path),
                    label=_node_label(layer, name, self.options, each=each, time=self._time(layer, each)),
                    tooltip=graphviz.nohtml(layer.path[:_LABEL_LIMIT]),
                    **attrs,
                )

    def _add_legend(self, g: graphviz.Digraph) -> None:
        boxes = [l for l in self.view.layers if not self.view.expanded(l.path)]
        if self.times is not None:
            times = self.times
            entries = times.legend({times.level(l.path) for l in boxes})
            title = "<<b>forward time share</b> (median; a box's time includes its sublayers')>"
        else:
            used = {param_class(l) for l in boxes}
            entries = [(kind, COLOURS[kind], LEGEND[kind]) for kind in LEGEND if kind in used]
            title = "<<b>legend</b>>"
        with g.subgraph(name="cluster_/legend") as c:
            c.attr(label=title, style="rounded", color="#cbd5e1", fontsize="9")
            for key, fill, text in entries:
                c.node(_special("legend", key), label=text, fillcolor=fill, fontsize="9")


def render_dot(report: Report, options: GraphOptions = GraphOptions(), profile: ProfileReport | None = None) -> str:
    """DOT source for the report's data-flow graph; with ``profile`` (of the same model, else
    ``UsageError``) boxes are coloured by their share of the model's forward time."""
    if options.rankdir not in ("TB", "LR", "BT", "RL"):
        raise UsageError(f"rankdir must be TB, LR, BT or RL, not {options.rankdir!r}")
    if profile is not None:
        profile.check_same_model(report)
        profile = printable(profile)  # its paths escaped as the report's are
    return str(_Builder(printable(report), options, profile).build().source)
