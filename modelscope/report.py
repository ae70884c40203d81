"""The report: pure data describing a traced model. No TensorFlow here.

The report is the contract between the TensorFlow world (``load`` and ``trace``) and everything
else: renderers, the pytest plugin, ``diff`` and saved JSON. :func:`build_report` computes every
total once, from the traced facts; ``Report.from_dict`` reads a saved report back.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelscope.inputs import Shape

SCHEMA = "modelscope.report/1"
_INLINE_LIST = re.compile(r"\[\s*((?:-?\d+|null)(?:,\s*(?:-?\d+|null))*)\s*\]")

_DTYPE_BYTES = {
    "bool": 1, "int8": 1, "uint8": 1, "float8_e4m3fn": 1, "float8_e5m2": 1,
    "int16": 2, "uint16": 2, "float16": 2, "bfloat16": 2,
    "int32": 4, "uint32": 4, "float32": 4,
    "int64": 8, "uint64": 8, "float64": 8, "complex64": 8, "complex128": 16,
}  # fmt: skip


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of a dtype name (0 for dtypes with no fixed size, such as string)."""
    return _DTYPE_BYTES.get(dtype, 0)


@dataclass(frozen=True)
class Cost:
    """Compute for one sample: MACs and FLOPs (see ``trace/cost.py``); None when unknown, ``note``
    saying why (or how it was counted)."""

    macs: int | None
    flops: int | None
    note: str = ""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    cls: str
    kind: str  # "sequential" | "functional" | "subclassed" | "hybrid"
    source: str | None = None


@dataclass(frozen=True)
class InputInfo:
    name: str
    shape: Shape | None
    dtype: str
    consumers: tuple[str, ...] = ()  # paths of the layers this input feeds
    ops_consumers: tuple[str, ...] = ()  # containers whose own raw ops use it (see Edge.ops)


@dataclass(frozen=True)
class OutputInfo:
    name: str
    shape: Shape | None
    dtype: str
    producers: tuple[str, ...] = ()  # paths of the layers that produce this output


@dataclass(frozen=True)
class Totals:
    params: int
    trainable: int
    non_trainable: int
    bytes: int
    trainable_bytes: int = 0
    macs: int | None = None  # per sample, over the layers whose cost is known (None: not computed)
    flops: int | None = None
    activation_bytes: int | None = None  # per sample: every call's outputs of the layers without sublayers
    uncounted: tuple[str, ...] = ()  # layers whose cost could not be determined


@dataclass(frozen=True)
class VariableInfo:
    path: str  # owning layer's path + "/" + variable name
    layer: str  # owning layer's path ("" for the model's own variables)
    shape: Shape
    dtype: str
    trainable: bool

    @property
    def count(self) -> int:
        return math.prod(d or 0 for d in self.shape)

    @property
    def bytes(self) -> int:
        return self.count * dtype_bytes(self.dtype)


@dataclass(frozen=True)
class LayerInfo:
    path: str
    name: str
    attr: str | None
    cls: str
    depth: int
    parent: str | None
    input_shapes: tuple[Shape | None, ...]
    output_shapes: tuple[Shape | None, ...]
    params: int
    trainable: int
    non_trainable: int
    bytes: int
    calls: int
    built: bool = True
    macs: int | None = None  # this layer's calls, sublayers included; None: unknown or not computed
    flops: int | None = None
    activation_bytes: int | None = None  # its calls' outputs, per sample
    cost_note: str = ""
    config: dict[str, Any] = field(default_factory=dict)  # the settings that shape it (units, filters, ...)


@dataclass(frozen=True)
class Edge:
    """Data flow: ``src``'s output (or something raw ops made of it) went into ``dst``.

    ``ops`` marks an edge into a container's own raw operations (the tensor fed what the
    container computed itself, e.g. the add of a residual block that returns ``x + f(x)``),
    as opposed to the container's inputs.
    """

    src: str
    dst: str
    ops: bool = False


@dataclass(frozen=True)
class CallInfo:
    """One call of a layer that was called more than once (``index`` counts from 0)."""

    layer: str
    index: int
    input_shapes: tuple[Shape | None, ...]
    output_shapes: tuple[Shape | None, ...]


@dataclass(frozen=True)
class CallEdge:
    """An edge between calls, for edges that touch a layer called more than once.

    ``""`` as a path is the model itself: ``src_call`` is then an input's index, ``dst_call``
    an output's.
    """

    src: str
    src_call: int
    dst: str
    dst_call: int
    ops: bool = False


@dataclass(frozen=True)
class SignatureInfo:
    """A SavedModel serving signature: its name, inputs and outputs."""

    name: str
    inputs: tuple[InputInfo, ...]
    outputs: tuple[OutputInfo, ...]


def _shape_out(shape: Shape | None) -> list[int | None] | None:
    return None if shape is None else list(shape)


def _shape_in(value: Sequence[int | None] | None) -> Shape | None:
    return None if value is None else tuple(value)


def _signature_out(s: SignatureInfo) -> dict[str, Any]:
    def io(items: tuple[InputInfo, ...] | tuple[OutputInfo, ...]) -> list[dict[str, Any]]:
        return [{"name": i.name, "shape": _shape_out(i.shape), "dtype": i.dtype} for i in items]

    return {"name": s.name, "inputs": io(s.inputs), "outputs": io(s.outputs)}


def _signature_in(data: Mapping[str, Any]) -> SignatureInfo:
    return SignatureInfo(
        data["name"],
        tuple(InputInfo(i["name"], _shape_in(i["shape"]), i["dtype"]) for i in data["inputs"]),
        tuple(OutputInfo(o["name"], _shape_in(o["shape"]), o["dtype"]) for o in data["outputs"]),
    )


@dataclass(frozen=True)
class Report:
    """Everything modelscope knows about one traced model; renderers are functions of this."""

    model: ModelInfo
    inputs: tuple[InputInfo, ...]
    outputs: tuple[OutputInfo, ...]
    totals: Totals
    layers: tuple[LayerInfo, ...]
    edges: tuple[Edge, ...] = ()
    variables: tuple[VariableInfo, ...] = ()
    calls: tuple[CallInfo, ...] = ()  # every call of the layers called more than once
    call_edges: tuple[CallEdge, ...] = ()
    signatures: tuple[SignatureInfo, ...] = ()  # SavedModels only
    _index: dict[str, LayerInfo] = field(default_factory=dict, init=False, repr=False, compare=False)
    _children: dict[str | None, list[LayerInfo]] = field(default_factory=dict, init=False, repr=False,
                                                         compare=False)  # fmt: skip

    def __post_init__(self) -> None:
        self._index.update((layer.path, layer) for layer in self.layers)
        for layer in self.layers:
            self._children.setdefault(layer.parent, []).append(layer)

    # -- navigation ---------------------------------------------------------------------------
    def layer(self, path: str) -> LayerInfo:
        """The layer at ``path`` (``KeyError`` naming the known paths if absent)."""
        try:
            return self._index[path]
        except KeyError:
            raise KeyError(f"no layer {path!r}; layers: {', '.join(self._index)}") from None

    def children(self, path: str | None) -> list[LayerInfo]:
        """Direct children of ``path`` (``None`` for the model's own children), in order."""
        return list(self._children.get(path, ()))

    def walk(self, max_depth: int | None = None) -> Iterator[LayerInfo]:
        """Layers parents-first, in call order, down to ``max_depth``."""
        return (l for l in self.layers if max_depth is None or l.depth <= max_depth)

    @property
    def unbuilt(self) -> list[LayerInfo]:
        return [layer for layer in self.layers if not layer.built]

    # -- serialisation ------------------------------------------------------------------------
    @property
    def bytes_by_dtype(self) -> dict[str, int]:
        """Parameter bytes per dtype (the model's variables, each once), largest first."""
        sizes: dict[str, int] = {}
        for v in self.variables:
            sizes[v.dtype] = sizes.get(v.dtype, 0) + v.bytes
        return dict(sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def static(self) -> bool:
        """True when nothing was run: the model is known from stored variables only."""
        return bool(self.layers or self.variables) and not any(l.calls for l in self.layers)

    def to_dict(self) -> dict[str, Any]:
        m = self.model
        return {
            "schema": SCHEMA,
            "model": {"name": m.name, "class": m.cls, "kind": m.kind, "source": m.source},
            "inputs": [
                {"name": i.name, "shape": _shape_out(i.shape), "dtype": i.dtype,
                 "consumers": list(i.consumers)} | ({"ops_consumers": list(i.ops_consumers)} if i.ops_consumers else {})
                for i in self.inputs
            ],
            "outputs": [
                {"name": o.name, "shape": _shape_out(o.shape), "dtype": o.dtype,
                 "producers": list(o.producers)}
                for o in self.outputs
            ],
            "totals": {
                "params": self.totals.params, "trainable": self.totals.trainable,
                "non_trainable": self.totals.non_trainable, "bytes": self.totals.bytes,
                "trainable_bytes": self.totals.trainable_bytes, "macs": self.totals.macs,
                "flops": self.totals.flops, "activation_bytes": self.totals.activation_bytes,
                "uncounted": list(self.totals.uncounted), "bytes_by_dtype": self.bytes_by_dtype,
            },
            "layers": [
                {"path": l.path, "name": l.name, "attr": l.attr, "class": l.cls,
                 "depth": l.depth, "parent": l.parent,
                 "input_shapes": [_shape_out(s) for s in l.input_shapes],
                 "output_shapes": [_shape_out(s) for s in l.output_shapes],
                 "params": l.params, "trainable": l.trainable,
                 "non_trainable": l.non_trainable, "bytes": l.bytes,
                 "calls": l.calls, "built": l.built, "macs": l.macs, "flops": l.flops,
                 "activation_bytes": l.activation_bytes} | ({"cost_note": l.cost_note} if l.cost_note else {})
                | ({"config": l.config} if l.config else {})
                for l in self.layers
            ],
            "edges": [{"src": e.src, "dst": e.dst} | ({"ops": True} if e.ops else {}) for e in self.edges],
            "variables": [
                {"path": v.path, "layer": v.layer, "shape": list(v.shape), "dtype": v.dtype,
                 "trainable": v.trainable}
                for v in self.variables
            ],
            "calls": [
                {"layer": c.layer, "index": c.index,
                 "input_shapes": [_shape_out(s) for s in c.input_shapes],
                 "output_shapes": [_shape_out(s) for s in c.output_shapes]}
                for c in self.calls
            ],
            "call_edges": [
                {"src": e.src, "src_call": e.src_call, "dst": e.dst, "dst_call": e.dst_call}
                | ({"ops": True} if e.ops else {})
                for e in self.call_edges
            ],
        } | ({"signatures": [_signature_out(s) for s in self.signatures]} if self.signatures else {})  # fmt: skip

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text; shapes stay on one line (``[null, 28, 28, 1]``) so diffs stay readable."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
        return _INLINE_LIST.sub(_inline, text) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """Read a report written by :meth:`to_dict` (or ``--format json``)."""
        schema = data.get("schema")
        if schema != SCHEMA:
            raise ValueError(f"not a modelscope report (schema {schema!r}, expected {SCHEMA!r})")
        m, t = data["model"], data["totals"]
        return cls(
            model=ModelInfo(m["name"], m["class"], m["kind"], m.get("source")),
            inputs=tuple(
                InputInfo(i["name"], _shape_in(i["shape"]), i["dtype"], tuple(i.get("consumers", ())),
                          tuple(i.get("ops_consumers", ())))
                for i in data["inputs"]
            ),
            outputs=tuple(
                OutputInfo(o["name"], _shape_in(o["shape"]), o["dtype"], tuple(o.get("producers", ())))
                for o in data["outputs"]
            ),
            totals=Totals(t["params"], t["trainable"], t["non_trainable"], t["bytes"],
                          t.get("trainable_bytes", 0), t.get("macs"), t.get("flops"), t.get("activation_bytes"),
                          tuple(t.get("uncounted", ()))),
            layers=tuple(
                LayerInfo(
                    path=l["path"], name=l["name"], attr=l.get("attr"), cls=l["class"],
                    depth=l["depth"], parent=l.get("parent"),
                    input_shapes=tuple(_shape_in(s) for s in l["input_shapes"]),
                    output_shapes=tuple(_shape_in(s) for s in l["output_shapes"]),
                    params=l["params"], trainable=l["trainable"],
                    non_trainable=l["non_trainable"], bytes=l.get("bytes", 0),
                    calls=l["calls"], built=l.get("built", True), macs=l.get("macs"), flops=l.get("flops"),
                    activation_bytes=l.get("activation_bytes"), cost_note=l.get("cost_note", ""),
                    config=dict(l.get("config", {})),
                )
                for l in data["layers"]
            ),
            edges=tuple(Edge(e["src"], e["dst"], e.get("ops", False)) for e in data.get("edges", ())),
            variables=tuple(
                VariableInfo(v["path"], v["layer"], tuple(v["shape"]), v["dtype"], v["trainable"])
                for v in data.get("variables", ())
            ),
            calls=tuple(
                CallInfo(c["layer"], c["index"], tuple(_shape_in(s) for s in c["input_shapes"]),
                         tuple(_shape_in(s) for s in c["output_shapes"]))
                for c in data.get("calls", ())
            ),
            call_edges=tuple(
                CallEdge(e["src"], e["src_call"], e["dst"], e["dst_call"], e.get("ops", False))
                for e in data.get("call_edges", ())
            ),
            signatures=tuple(_signature_in(s) for s in data.get("signatures", ())),
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_dict(json.loads(text))

    # -- graphs ---------------------------------------------------------------------------------
    def to_dot(self, **options: Any) -> str:
        """Graphviz DOT of the data flow; options as :class:`modelscope.render.dot.GraphOptions`."""
        from modelscope.render.dot import GraphOptions, render_dot

        return render_dot(self, GraphOptions(**options))

    def _repr_svg_(self) -> str:
        """Jupyter shows a report as its graph."""
        from modelscope.graphviz_render import render_graph

        return render_graph(self.to_dot(), "svg").decode("utf-8")


def _inline(match: re.Match[str]) -> str:
    return "[" + ", ".join(x.strip() for x in match.group(1).split(",")) + "]"


# -- building a report from traced facts -------------------------------------------------------


@dataclass(frozen=True)
class TracedLayer:
    """What the tracer saw of one layer; ``variables`` index into ``TracedModel.variables``
    and include the variables of its sublayers (a shared variable appears in several layers)."""

    path: str
    name: str
    attr: str | None
    cls: str
    depth: int
    parent: str | None
    input_shapes: tuple[Shape | None, ...]
    output_shapes: tuple[Shape | None, ...]
    calls: int
    built: bool
    variables: tuple[int, ...]
    cost: Cost | None = None  # own cost of all calls (sublayers' added unless ``cost_covers_children``)
    cost_covers_children: bool = False
    activation_bytes: int | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TracedModel:
    """The tracer's output: facts only, no totals. :func:`build_report` turns it into a Report."""

    model: ModelInfo
    inputs: tuple[InputInfo, ...]
    outputs: tuple[OutputInfo, ...]
    layers: tuple[TracedLayer, ...]
    edges: tuple[Edge, ...]
    variables: tuple[VariableInfo, ...]  # every variable of the model, each once
    model_variables: tuple[int, ...]  # the variables Keras counts for the model itself
    calls: tuple[CallInfo, ...] = ()
    call_edges: tuple[CallEdge, ...] = ()
    signatures: tuple[SignatureInfo, ...] = ()
    own_cost: Cost | None = None  # the model's own raw ops (None: costs not computed)


def build_report(traced: TracedModel) -> Report:
    """Compute per-layer and total counts; each variable counts once wherever it is shared."""
    variables = traced.variables

    def count(indices: Sequence[int]) -> tuple[int, int, int]:
        unique = set(indices)
        total = sum(variables[i].count for i in unique)
        trainable = sum(variables[i].count for i in unique if variables[i].trainable)
        size = sum(variables[i].bytes for i in unique)
        return total, trainable, size

    model_vars = set(traced.model_variables)
    trainable_bytes = sum(variables[i].bytes for i in model_vars if variables[i].trainable)

    costs = _costs(traced)
    layers = []
    for t in traced.layers:
        params, trainable, size = count(t.variables)
        cost = costs.get(t.path)
        layers.append(
            LayerInfo(
                path=t.path, name=t.name, attr=t.attr, cls=t.cls,
                depth=t.depth, parent=t.parent,
                input_shapes=t.input_shapes, output_shapes=t.output_shapes,
                params=params, trainable=trainable, non_trainable=params - trainable,
                bytes=size, calls=t.calls, built=t.built,
                macs=cost.macs if cost else None, flops=cost.flops if cost else None,
                activation_bytes=t.activation_bytes, cost_note=cost.note if cost else "", config=t.config,
            )
        )  # fmt: skip
    params, trainable, size = count(traced.model_variables)
    totals = Totals(params, trainable, params - trainable, size, trainable_bytes, *_cost_totals(traced))
    return Report(
        model=traced.model,
        inputs=traced.inputs,
        outputs=traced.outputs,
        totals=totals,
        layers=tuple(layers),
        edges=traced.edges,
        variables=variables,
        calls=traced.calls,
        call_edges=traced.call_edges,
        signatures=traced.signatures,
    )


def _costs(traced: TracedModel) -> dict[str, Cost]:
    """Each layer's cost with its sublayers': unknown (None) when its own or a sublayer's is."""
    children: dict[str | None, list[TracedLayer]] = {}
    for t in traced.layers:
        children.setdefault(t.parent, []).append(t)
    result: dict[str, Cost] = {}

    def visit(t: TracedLayer) -> Cost | None:
        kids = [visit(c) for c in children.get(t.path, [])]
        if t.cost is None:
            return None
        parts = [t.cost] + ([] if t.cost_covers_children else [k for k in kids if k is not None])
        unknown = [p for p in parts if p.macs is None or p.flops is None]
        if unknown:
            note = t.cost.note if t.cost.macs is None else "a sublayer's cost is unknown"
            cost = Cost(None, None, note)
        else:
            cost = Cost(sum(p.macs for p in parts), sum(p.flops for p in parts), t.cost.note)  # type: ignore[misc]
        result[t.path] = cost
        return cost

    for top in children.get(None, []):
        visit(top)
    return result


def _cost_totals(traced: TracedModel) -> tuple[int | None, int | None, int | None, tuple[str, ...]]:
    """Totals over every layer's own cost, counted once; the layers left out for being unknown."""
    if traced.own_cost is None:
        return None, None, None, ()
    parents = {t.parent for t in traced.layers}
    covered = {t.path for t in traced.layers if t.cost_covers_children}

    def inside_covered(path: str) -> bool:  # a sublayer of a layer whose formula includes it
        parts = path.split("/")
        return any("/".join(parts[:i]) in covered for i in range(1, len(parts)))

    macs, flops, act, uncounted = 0, 0, 0, []
    counted = [t for t in traced.layers if not inside_covered(t.path)]
    for path, cost in [*((t.path, t.cost) for t in counted if t.cost is not None), ("", traced.own_cost)]:
        if cost.macs is None or cost.flops is None:
            uncounted.append(path or "(the model's own ops)")
        else:
            macs, flops = macs + cost.macs, flops + cost.flops
    for t in counted:
        if (t.path not in parents or t.path in covered) and t.activation_bytes:
            act += t.activation_bytes
    return macs, flops, act, tuple(uncounted)
