"""The report: pure data describing a traced model. No TensorFlow here.

The report is the contract between the TensorFlow world (``load`` and ``trace``) and everything
else: renderers, the pytest plugin, ``diff`` and saved JSON. ``modelscope.model.traced.build_report``
computes every total once, from the traced facts; ``Report.from_dict`` reads a saved report back.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelscope.model.check import check_report
from modelscope.model.display import Displayed, renderer
from modelscope.model.shapes import Shape

SCHEMA = "modelscope.report/2"
OLD_SCHEMAS = ("modelscope.report/1",)  # read, with their Keras-name paths made stable (model.paths)
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
    init: str | None = None  # "zeros", "ones" or "constant" when its layer initialises it to a constant

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


@dataclass(frozen=True, repr=False)
class Report(Displayed):
    """Everything modelscope knows about one traced model; renderers are functions of this.
    In a notebook it shows as the summary table (HTML); ``print`` prints the table."""

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
    warnings: tuple[str, ...] = ()  # what could not be determined (shown as unknown) or how it was traced
    _index: dict[str, LayerInfo] = field(default_factory=dict, init=False, repr=False, compare=False)
    _children: dict[str | None, list[LayerInfo]] = field(default_factory=dict, init=False, repr=False,
                                                         compare=False)  # fmt: skip
    _by_keras_name: dict[str, list[LayerInfo]] = field(default_factory=dict, init=False, repr=False,
                                                       compare=False)  # fmt: skip

    def __post_init__(self) -> None:
        self._index.update((layer.path, layer) for layer in self.layers)
        for layer in self.layers:
            self._children.setdefault(layer.parent, []).append(layer)

    # -- navigation ---------------------------------------------------------------------------
    def layer(self, path: str) -> LayerInfo:
        """The layer at stable ``path`` (``fe/conv2d``). A string that is no layer's stable path may
        be a Keras name (``conv2d_8``) or the path of Keras names (``sequential_8/conv2d_8``) of
        exactly one layer. ``KeyError`` saying what is there otherwise."""
        found = self._index.get(path)
        if found is not None:
            return found
        matches = self._keras_names().get(path, [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise KeyError(f"{path!r} is the Keras name of {len(matches)} layers "
                           f"({', '.join(l.path for l in matches[:8])}): give a stable path")  # fmt: skip
        known = list(self._index)
        listed = ", ".join(known[:40]) + (f", … ({len(known)} layers)" if len(known) > 40 else "")
        raise KeyError(f"no layer {path!r}; layers: {listed}")

    def _keras_names(self) -> dict[str, list[LayerInfo]]:
        """Each Keras name and path of Keras names -> the layers it names."""
        if not self._by_keras_name:
            keras_path: dict[str, str] = {}
            for layer in self.layers:
                parent = keras_path.get(layer.parent or "", "")
                keras_path[layer.path] = f"{parent}/{layer.name}" if parent else layer.name
                for key in dict.fromkeys((layer.name, keras_path[layer.path])):
                    self._by_keras_name.setdefault(key, []).append(layer)
        return self._by_keras_name

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
                 "trainable": v.trainable} | ({"init": v.init} if v.init else {})
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
        } | ({"signatures": [_signature_out(s) for s in self.signatures]} if self.signatures else {}) | (
            {"warnings": list(self.warnings)} if self.warnings else {})  # fmt: skip

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text; shapes stay on one line (``[null, 28, 28, 1]``) so diffs stay readable."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
        return _INLINE_LIST.sub(_inline, text) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """Read a report written by :meth:`to_dict` (or ``--format json``); a report whose fields
        have the wrong types or name layers it does not hold is a ValueError (see :mod:`.check`)."""
        if not isinstance(data, Mapping):
            raise ValueError("not a modelscope report (not a JSON object)")
        schema = data.get("schema")
        if schema != SCHEMA and schema not in OLD_SCHEMAS:
            raise ValueError(f"not a modelscope report (schema {schema!r}, expected {SCHEMA!r})")
        m, t = data["model"], data["totals"]
        report = cls(
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
                VariableInfo(v["path"], v["layer"], tuple(v["shape"]), v["dtype"], v["trainable"], v.get("init"))
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
            warnings=tuple(str(w) for w in data.get("warnings", ())),
        )  # fmt: skip
        check_report(report)
        if schema in OLD_SCHEMAS:
            from modelscope.model.rename import renamed

            report = renamed(report)
        return report

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_dict(json.loads(text))

    # -- display (the renderers, found through modelscope.model.display) ------------------------
    def to_dot(self, **options: Any) -> str:
        """Graphviz DOT of the data flow; options as :class:`modelscope.render.dot.GraphOptions`."""
        return str(renderer("dot")(self, **options))


def _inline(match: re.Match[str]) -> str:
    return "[" + ", ".join(x.strip() for x in match.group(1).split(",")) + "]"


# -- building a report from traced facts -------------------------------------------------------
