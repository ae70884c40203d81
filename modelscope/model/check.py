"""A report read from a file is checked before anything renders it: every field of the right
type, every path it refers to one of its layers. A hand-edited or hostile report JSON is then a
clear error (exit 1), never a crash in a renderer."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelscope.model.report import Report

_BIG = 2**63  # no count is larger


def _need(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(what)


def _count(value: Any, what: str, optional: bool = False) -> None:
    if optional and value is None:
        return
    _need(isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _BIG, f"{what} must be a count")


def _text(value: Any, what: str, optional: bool = False) -> None:
    _need(isinstance(value, str) or (optional and value is None), f"{what} must be text")


def _shape(value: Any, what: str) -> None:
    if value is None:
        return
    _need(isinstance(value, tuple), f"{what} must be a list of sizes")
    for d in value:
        _count(d, f"{what}: a size", optional=True)


def _shapes(values: Any, what: str) -> None:
    _need(isinstance(values, tuple), f"{what} must be a list of shapes")
    for v in values:
        _shape(v, what)


def check_report(r: Report) -> None:
    """Raise ValueError naming the first field that is not what a report holds."""
    m = r.model
    for field in ("name", "cls", "kind"):
        _text(getattr(m, field), f"model.{field}")
    _text(m.source, "model.source", optional=True)
    t = r.totals
    for field in ("params", "trainable", "non_trainable", "bytes", "trainable_bytes"):
        _count(getattr(t, field), f"totals.{field}")
    for field in ("macs", "flops", "activation_bytes"):
        _count(getattr(t, field), f"totals.{field}", optional=True)
    paths = set()
    for i, layer in enumerate(r.layers):
        where = f"layers[{i}]"
        for field in ("path", "name", "cls", "cost_note"):
            _text(getattr(layer, field), f"{where}.{field}")
        _text(layer.attr, f"{where}.attr", optional=True)
        _text(layer.parent, f"{where}.parent", optional=True)
        _need(layer.parent is None or layer.parent in paths, f"{where}.parent names no layer before it")
        _need(isinstance(layer.depth, int) and not isinstance(layer.depth, bool) and layer.depth >= 1,
              f"{where}.depth must be 1 or more")  # fmt: skip
        for field in ("params", "trainable", "non_trainable", "bytes", "calls"):
            _count(getattr(layer, field), f"{where}.{field}")
        for field in ("macs", "flops", "activation_bytes"):
            _count(getattr(layer, field), f"{where}.{field}", optional=True)
        _need(isinstance(layer.built, bool), f"{where}.built must be true or false")
        _need(isinstance(layer.config, dict), f"{where}.config must be an object")
        _shapes(layer.input_shapes, f"{where}.input_shapes")
        _shapes(layer.output_shapes, f"{where}.output_shapes")
        paths.add(layer.path)
    ends: tuple[tuple[str, tuple[Any, ...]], ...] = (("inputs", r.inputs), ("outputs", r.outputs))
    for kind, items in ends:
        for i, item in enumerate(items):
            _text(item.name, f"{kind}[{i}].name")
            _text(item.dtype, f"{kind}[{i}].dtype")
            _shape(item.shape, f"{kind}[{i}].shape")
            for ref in (*getattr(item, "consumers", ()), *getattr(item, "ops_consumers", ()),
                        *getattr(item, "producers", ())):  # fmt: skip
                _need(isinstance(ref, str) and ref in paths, f"{kind}[{i}] names a layer the report does not hold")
    for i, e in enumerate(r.edges):
        _need(isinstance(e.src, str) and isinstance(e.dst, str) and e.src in paths and e.dst in paths,
              f"edges[{i}] joins layers the report does not hold")  # fmt: skip
    for i, c in enumerate(r.calls):
        _need(isinstance(c.layer, str) and c.layer in paths, f"calls[{i}].layer names no layer")
        _count(c.index, f"calls[{i}].index")
        _shapes(c.input_shapes, f"calls[{i}].input_shapes")
        _shapes(c.output_shapes, f"calls[{i}].output_shapes")
    for i, ce in enumerate(r.call_edges):
        _need(all(isinstance(p, str) and (p == "" or p in paths) for p in (ce.src, ce.dst)),
              f"call_edges[{i}] joins layers the report does not hold")  # fmt: skip
        _count(ce.src_call, f"call_edges[{i}].src_call")
        _count(ce.dst_call, f"call_edges[{i}].dst_call")
    for i, v in enumerate(r.variables):
        where = f"variables[{i}]"
        for field in ("path", "layer", "dtype"):
            _text(getattr(v, field), f"{where}.{field}")
        _text(v.init, f"{where}.init", optional=True)
        _need(isinstance(v.trainable, bool), f"{where}.trainable must be true or false")
        _need(isinstance(v.shape, tuple), f"{where}.shape must be a list of sizes")
        for d in v.shape:
            _count(d, f"{where}.shape: a size")
        _need(math.prod(int(d or 0) for d in v.shape) < _BIG, f"{where}.shape is too large")
