"""After the trace: each layer's cost and activation bytes (see :mod:`modelscope.trace.cost`).

Built-in layers are costed by formula. Any other layer (a custom layer, a subclassed block, the
subclassed model itself) has its ``call`` run once more inside Keras's scratch graph on a batch of
one, with ``Layer.__call__`` wrapped so that the ops its sublayers create are left to them; its
own ops are then counted.
"""

from __future__ import annotations

import warnings
from typing import Any

from modelscope.model.report import Cost, dtype_bytes
from modelscope.trace.cost import known, layer_cost, ops_cost, per_sample
from modelscope.trace.recorder import LayerRecord, dtype_of


def _sum(costs: list[Cost], note: str = "") -> Cost:
    bad = next((c for c in costs if c.macs is None or c.flops is None), None)
    if bad is not None:
        return Cost(None, None, bad.note)
    return Cost(sum(c.macs for c in costs), sum(c.flops for c in costs), note)  # type: ignore[misc]


def record_cost(r: LayerRecord, graph_of: Any, cache: dict[Any, Cost] | None = None) -> tuple[Cost, bool]:
    """The cost of all of ``r``'s calls, and whether it already covers its sublayers. ``cache``
    keeps the own-ops cost of layers that are identical (see :func:`identity`), so the 80 decoder
    blocks of a Llama are run again once, not 80 times."""
    if r.calls == 0:
        return Cost(0, 0), False
    if known(r.layer):
        costs = [layer_cost(r.layer, ins, outs) for ins, outs in r.call_shapes]
        return _sum(costs, costs[0].note), True
    if graph_of(r.layer) is not None:
        return Cost(0, 0), False  # a functional graph: its operations are recorded as its children
    if r.first_call is None:
        return Cost(None, None, "its call was not seen"), False
    key = identity(r) if cache is not None else None
    own = cache.get(key) if cache is not None and key is not None else None
    if own is None:
        own = own_ops_cost(r.layer, *r.first_call)
        if cache is not None and key is not None:
            cache[key] = own
    if own.macs is None or r.calls == 1:
        return own, False
    return Cost(own.macs * r.calls, own.flops * r.calls, own.note + f" × {r.calls} calls"), False  # type: ignore[operator]


_NAMES = frozenset({"name", "_name", "_path", "_parent_path"})  # what two identical layers differ in
_PLAIN = (int, float, str, bool, type(None))


def _setting(value: Any) -> str:
    """A plain value, a tuple of them or a function (an activation) as text; "" for anything else
    (sublayers, weights, Keras's bookkeeping), which the weights and call shapes stand for."""
    import inspect

    if isinstance(value, _PLAIN) or (isinstance(value, tuple) and all(isinstance(x, _PLAIN) for x in value)):
        return repr(value)
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"
    return ""


def identity(r: LayerRecord) -> Any:
    """What makes two layers' own ops the same: the class, every setting the instance holds as a
    plain value (``units``, ``num_heads``, ``rope_max_wavelength``…, whether ``get_config`` lists it
    or not; names aside), every weight's shape and dtype, and the call's shapes and non-tensor
    arguments; None when that cannot be told (no sharing then)."""
    import keras

    layer = r.layer
    if r.first_call is None:
        return None
    try:
        settings = sorted((k, _setting(v)) for k, v in vars(layer).items() if k not in _NAMES and _setting(v))
        weights = tuple((tuple(w.shape), str(w.dtype)) for w in layer.weights)
        arguments = keras.tree.map_structure(
            lambda x: ("tensor", tuple(x.shape), dtype_of(x)) if hasattr(x, "shape") and hasattr(x, "dtype")
            else repr(x)[:200], tuple(r.first_call))  # fmt: skip
        return type(layer), tuple(settings), weights, repr(arguments), repr(r.call_shapes)
    except Exception:
        return None


def activation_bytes(r: LayerRecord) -> int | None:
    """Bytes of the outputs of every call, for one sample (None when a dimension is unknown)."""
    size = dtype_bytes(str(getattr(r.layer, "compute_dtype", "float32") or "float32"))
    total = 0
    for _, outs in r.call_shapes:
        for shape in outs:
            n = per_sample(shape)
            if n is None:
                return None
            total += n * size
    return total


def _one(x: Any) -> Any:
    """A tensor of the call as a KerasTensor with a batch of one; anything else as it is."""
    import keras

    shape = getattr(x, "shape", None)
    if shape is None or not hasattr(x, "dtype") or type(x).__module__.startswith("numpy"):
        return x
    dims = tuple(None if d is None else int(d) for d in shape)
    if dims and dims[0] is None:
        dims = (1, *dims[1:])
    return keras.KerasTensor(dims, dtype=dtype_of(x))


def own_ops_cost(layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any], fn: Any = None) -> Cost:
    """Run ``layer.call`` (or ``fn``, a method of it) in a scratch graph (batch of one) and cost
    the ops it makes itself."""
    import keras
    import tensorflow as tf
    from keras import tree
    from keras.src import backend

    Layer = keras.layers.Layer
    original = Layer.__call__
    spans: list[tuple[int, int]] = []
    seen: dict[str, Any] = {}

    def child_call(child: Any, *a: Any, **k: Any) -> Any:
        g = tf.compat.v1.get_default_graph()
        start = len(g.get_operations())
        try:
            return original(child, *a, **k)
        finally:
            spans.append((start, len(g.get_operations())))

    def run(*a: Any, **k: Any) -> Any:
        g = seen["graph"] = tf.compat.v1.get_default_graph()
        seen["start"] = len(g.get_operations())
        Layer.__call__ = child_call
        try:
            return (fn or layer.call)(*a, **k)
        finally:
            Layer.__call__ = original
            seen["end"] = len(g.get_operations())

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            backend.compute_output_spec(run, *tree.map_structure(_one, args),
                                              **tree.map_structure(_one, kwargs))  # fmt: skip
    except Exception as e:
        return Cost(None, None, f"could not run it again to count its ops ({type(e).__name__})")
    finally:
        Layer.__call__ = original
    if "end" not in seen:
        return Cost(None, None, "could not run it again to count its ops")
    ops = seen["graph"].get_operations()[seen["start"] : seen["end"]]
    inside: set[int] = set()
    for start, end in spans:
        inside.update(range(start - seen["start"], end - seen["start"]))
    return ops_cost([op for i, op in enumerate(ops) if i not in inside])
