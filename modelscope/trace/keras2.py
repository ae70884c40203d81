"""Tracing a ``tf_keras`` (Keras 2) model loaded from a SavedModel into modelscope's Recorder.

``tf_keras``'s ``Layer.__call__`` is wrapped while the model runs on placeholders in a scratch
graph. A revived layer (its class not importable) runs its saved call, so its children are
replayed from that function's graph: a call op of
``__inference_<child>_layer_call_and_return_conditional_losses_<n>`` is one call of ``<child>``,
and ops inlined under a child's name scope are one call of it.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from modelscope.errors import LoadError
from modelscope.model import report as r_
from modelscope.model import traced as t_
from modelscope.trace import trace_error
from modelscope.trace.collect import attr_name, parents_first, repeated_calls, unreached
from modelscope.trace.recorder import LayerRecord, Recorder, dtype_of, shape_of

__all__ = ["trace_keras2"]

_LAYER_FN = re.compile(r"^__inference_(.+)_layer_call_and_return_conditional_losses_\d+$")
_CALL_OPS = ("StatefulPartitionedCall", "PartitionedCall")


def trace_keras2(model: Any, source: str) -> t_.TracedModel:
    """Trace one call of a ``tf_keras`` model on its saved input signature."""
    return _Trace(model).run(source)


def _sublayers(layer: Any) -> list[Any]:
    from tf_keras.src.engine.input_layer import InputLayer

    return [l for l in layer._flatten_layers(include_self=False, recursive=False) if not isinstance(l, InputLayer)]


def _is_revived(layer: Any) -> bool:
    from tf_keras.src.saving.legacy.saved_model.load import RevivedLayer

    return isinstance(layer, RevivedLayer)


def _input_specs(model: Any) -> tuple[tuple[Any, ...], list[str]]:
    """The saved call's positional inputs (specs, or lists or dicts of them) and one name per flat input."""
    import tensorflow as tf

    if getattr(model, "_is_graph_network", False):
        specs = [tf.TensorSpec(t.shape, t.dtype, n) for t, n in zip(model.inputs, model.input_names)]
        return (specs[0] if len(specs) == 1 else specs,), list(model.input_names)
    args: list[Any] = []
    for arg in (model.save_spec(dynamic_batch=True) or ((), {}))[0]:  # call(self, x, y, training=None)
        flat = tf.nest.flatten(arg)
        if not flat or not all(isinstance(x, tf.TensorSpec) for x in flat):
            break
        args.append(arg)
    if not args:
        raise LoadError(f"{model.name}: the SavedModel records no input signature (the model was never called)")
    flat = tf.nest.flatten(args)
    one = args[0] if len(args) == 1 else None
    keys = sorted(one) if isinstance(one, dict) and len(one) == len(flat) else None  # tf.nest's order
    names = [s.name or (keys[i] if keys else "input" if len(flat) == 1 else f"input_{i}") for i, s in enumerate(flat)]
    return tuple(args), names


def _tensors(value: Any) -> list[Any]:
    import tensorflow as tf

    return [x for x in tf.nest.flatten(value) if isinstance(x, tf.Tensor)]


def _strip_identity(t: Any) -> Any:
    while t.op.type == "Identity" and t.op.inputs:
        t = t.op.inputs[0]
    return t


class _Trace:
    """One symbolic call of a tf_keras model, with revived layers replayed from their saved graphs."""

    def __init__(self, model: Any) -> None:
        import tensorflow as tf
        from tf_keras.src.engine.base_layer import Layer

        self.tf, self.model, self.Layer = tf, model, Layer
        self.original = Layer.__call__
        self.rec = Recorder(root=model)
        self.graph = tf.__internal__.FuncGraph("modelscope_keras2")

    def run(self, source: str) -> t_.TracedModel:
        tf = self.tf
        specs, names = _input_specs(self.model)
        flat = [self._placeholder(s.shape, s.dtype) for s in tf.nest.flatten(specs)]
        self.Layer.__call__ = lambda layer, *args, **kwargs: self._on_call(layer, args, kwargs)
        try:
            with self.graph.as_default(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.rec.start(flat)
                outputs = _tensors(self.model(*tf.nest.pack_sequence_as(specs, flat), training=False))
                self.rec.finish(outputs)
        except Exception as e:
            raise trace_error(self.rec, e, "Running") from e
        finally:
            self.Layer.__call__ = self.original
        traced: t_.TracedModel = _collect(self.model, self.rec, list(zip(names, flat)), outputs, source)
        return traced

    def _placeholder(self, shape: Any, dtype: Any) -> Any:
        with self.graph.as_default():
            return self.tf.compat.v1.placeholder(dtype, shape)

    def _on_call(self, layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        ins = _tensors((args, {k: v for k, v in kwargs.items() if k not in ("training", "mask")}))
        frame = None if (not self.rec.stack and layer is self.rec.root) else self.rec.enter(layer, ins)
        try:
            result = self.original(layer, *args, **kwargs)
            outs = _tensors(result)
            inner = self._expand(layer, ins, len(outs)) if _is_revived(layer) and _sublayers(layer) else None
        except BaseException as e:
            if frame is not None:
                self.rec.fail(frame, e)
            raise
        if frame is None:
            if inner is not None:
                self.rec.alias(outs, inner)  # the root's outputs come from its children
        else:
            frame.inner_outputs = inner
            self.rec.exit(frame, outs)
        return result

    # -- revived layers: children replayed from the saved call graph -----------------------------
    def _saved_call(self, layer: Any, ins: list[Any], name: str | None = None) -> Any | None:
        """The saved ``call_and_return_conditional_losses`` function: ``name``, or the inference one for ``ins``."""
        fn = getattr(getattr(layer, "keras_api", None), "call_and_return_conditional_losses", None)
        functions = list(getattr(fn, "concrete_functions", ()))
        if name is not None:
            return next((f for f in functions if f.name.decode() == name), None)

        def fits(cf: Any) -> bool:
            flat = self.tf.nest.flatten(cf.structured_input_signature)
            specs = [s for s in flat if isinstance(s, self.tf.TensorSpec)]
            return not any(x is True for x in flat) and len(specs) == len(ins) and all(
                s.shape.is_compatible_with(t.shape) for s, t in zip(specs, ins))  # fmt: skip

        return next((f for f in functions if fits(f)), functions[0] if functions else None)

    def _expand(self, layer: Any, ins: list[Any], n_out: int) -> list[Any] | None:
        cf = self._saved_call(layer, ins)
        return None if cf is None else self._replay(layer, cf.graph, ins, n_out)

    def _replay(self, layer: Any, graph: Any, ins: list[Any], n_out: int) -> list[Any]:
        """Record the children's calls in ``graph`` (one saved call of ``layer``); its outputs."""
        self.rec.alias([t for t in graph.inputs if t.dtype != self.tf.resource][: len(ins)], ins)
        children = {c.name: c for c in _sublayers(layer)}
        done: set[str] = set()
        for op in graph.get_operations():
            match = _LAYER_FN.match(op.get_attr("f").name) if op.type in _CALL_OPS else None
            if match and match.group(1) in children:
                done.add(match.group(1))
                self._replay_child(children[match.group(1)], op)
        for name, child in children.items():  # a child's ops inlined under its name scope
            if name not in done and (span := _scope_span(graph, name)) is not None:
                self._call_child(child, *span)
        return [_strip_identity(t) for t in graph.outputs[:n_out]]

    def _replay_child(self, child: Any, op: Any) -> None:
        ins = [t for t in op.inputs if t.dtype != self.tf.resource]
        cf = self._saved_call(child, ins, op.get_attr("f").name) if _is_revived(child) else None
        if cf is None:
            return self._call_child(child, ins, list(op.outputs))
        n = len(self.tf.nest.flatten(cf.structured_outputs[0]))
        frame = self.rec.enter(child, ins)
        if _sublayers(child):
            frame.inner_outputs = self._replay(child, cf.graph, ins, n)
        self.rec.exit(frame, list(op.outputs[:n]))

    def _call_child(self, child: Any, ins: list[Any], outs: list[Any]) -> None:
        """Call a Python-backed child on placeholders standing for ``ins``; ``outs`` are its saved outputs."""
        frame = self.rec.enter(child, ins)
        inner = None
        try:
            placeholders = [self._placeholder(t.shape, t.dtype) for t in ins]
            self.rec.alias(placeholders, ins)
            arg = placeholders[0] if len(placeholders) == 1 else placeholders
            inner = _tensors(self.original(child, arg, training=False))
        except Exception:  # the child's call takes another structure: keep it as one opaque call
            while self.rec.stack and self.rec.stack[-1] is not frame:
                self.rec.stack.pop()
            self.rec.failure = None
        frame.inner_outputs = inner
        self.rec.exit(frame, outs[: len(inner)] if inner else outs[:1])


def _scope_span(graph: Any, name: str) -> tuple[list[Any], list[Any]] | None:
    """Inputs entering and outputs leaving the ops under name scope ``name/`` (one inlined call)."""
    ops = [op for op in graph.get_operations() if op.name.startswith(name + "/")]
    inside = {op.name for op in ops}
    if not ops:
        return None
    ins: dict[str, Any] = {}
    outs: dict[str, Any] = {}
    returned = {t.name for t in graph.outputs}
    for op in ops:
        for t in op.inputs:
            if t.op.name not in inside and t.dtype.name != "resource" and t.op.type != "Const":
                ins.setdefault(t.name, t)
        for t in op.outputs:
            if any(c.name not in inside for c in t.consumers()) or t.name in returned:
                outs.setdefault(t.name, t)
    return (list(ins.values()), list(outs.values())) if ins and outs else None


# -- collecting ------------------------------------------------------------------------------------


def _kind(model: Any, records: list[LayerRecord]) -> str:
    from tf_keras.src.engine.sequential import Sequential

    if isinstance(model, Sequential) or getattr(model, "_is_graph_network", False):
        return "sequential" if isinstance(model, Sequential) else "functional"
    graphs = any(getattr(r.layer, "_is_graph_network", False) for r in records if r.depth == 1)
    return "hybrid" if graphs else "subclassed"


def _variables(model: Any, records: list[LayerRecord]) -> list[r_.VariableInfo]:
    """Every model variable once, owned by the deepest layer holding it as its own."""
    owner: dict[int, str] = {}
    for r in reversed(records):  # children come after their parents
        for v in list(r.layer._trainable_weights) + list(r.layer._non_trainable_weights):
            owner.setdefault(id(v), r.path)
    trainable = {id(v) for v in model.trainable_weights}
    out = []
    for v in model.weights:
        path, name = owner.get(id(v), ""), v.name.split("/")[-1].split(":")[0]
        out.append(r_.VariableInfo(f"{path}/{name}" if path else name, path, shape_of(v) or (), dtype_of(v),
                                   id(v) in trainable))  # fmt: skip
    return out


def _collect(model: Any, rec: Recorder, inputs: list[tuple[str, Any]], outputs: list[Any], source: str) -> Any:
    reached = list(rec.records.values())
    records = parents_first(reached + unreached(rec, _sublayers))
    parents = {r.path: r.layer for r in records}
    index = {id(v): i for i, v in enumerate(model.weights)}
    layers = tuple(
        t_.TracedLayer(r.path, r.name, attr_name(parents[r.parent] if r.parent else model, r.layer),
                       type(r.layer).__name__, r.depth, r.parent, r.input_shapes, r.output_shapes, r.calls,
                       bool(r.layer.built), tuple(index[id(v)] for v in r.layer.weights if id(v) in index))
        for r in records
    )  # fmt: skip
    n = len(outputs)
    names = list(model.output_names) if getattr(model, "_is_graph_network", False) else []
    names = names if len(names) == n else ["output" if n == 1 else f"output_{i}" for i in range(n)]
    produced = rec.output_producers + [()] * n
    calls, call_edges = repeated_calls(rec, records)
    return t_.TracedModel(
        model=r_.ModelInfo(model.name, type(model).__name__, _kind(model, reached), source),
        inputs=tuple(r_.InputInfo(name, shape_of(t), dtype_of(t), tuple(rec.input_consumers.get(i, ())),
                                  tuple(rec.input_ops_consumers.get(i, ())))
                     for i, (name, t) in enumerate(inputs)),
        outputs=tuple(r_.OutputInfo(names[i], shape_of(t), dtype_of(t), produced[i]) for i, t in enumerate(outputs)),
        layers=layers,
        edges=tuple(r_.Edge(src, dst, ops) for src, dst, ops in rec.edges),
        variables=tuple(_variables(model, records)),
        model_variables=tuple(range(len(index))),
        calls=calls,
        call_edges=call_edges,
    )  # fmt: skip
