"""Running a Keras model once on symbolic inputs while recording every layer call.

Two ways of running, chosen per layer:

* Functional graphs (functional models, built Sequentials) are walked node by node with
  Keras's own ``_run_through_graph``, asking each leaf layer for ``compute_output_spec``. This
  is fast (no TensorFlow ops are built) and sees exactly the graph Keras holds.
* Any other layer with sublayers (subclassed models and blocks, MultiHeadAttention, ...) runs
  its ``call()`` inside a scratch TensorFlow graph (``backend.compute_output_spec``) while
  ``Layer.__call__`` is wrapped, so nested calls are recorded as they happen.

Everything the wrapper changes is restored in ``finally``, also when the model fails.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from modelscope.trace.recorder import Frame, Recorder


def _keras_parts() -> Any:
    from keras.src import backend, tree
    from keras.src.layers.core.input_layer import InputLayer
    from keras.src.layers.layer import Layer
    from keras.src.models.functional import Functional
    from keras.src.models.sequential import Sequential

    return backend, tree, Layer, Functional, Sequential, InputLayer


def tensors(tree: Any, value: Any) -> list[Any]:
    """The tensors in a nested call argument or result (variables and Python values left out)."""
    out = []
    for x in tree.flatten(value):
        if hasattr(x, "shape") and hasattr(x, "dtype") and "Variable" not in type(x).__name__:
            out.append(x)
    return out


def call_tensors(tree: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """Tensors passed to a call; Keras's propagated ``mask`` is not an input."""
    rest = {k: v for k, v in kwargs.items() if k not in ("mask", "training")}
    return tensors(tree, (list(args), rest))


def functional_graph(layer: Any) -> Any | None:
    """The Functional graph behind a layer, if Keras keeps one (functional models, Sequentials)."""
    _, _, _, Functional, Sequential, _ = _keras_parts()
    if isinstance(layer, Sequential):
        return getattr(layer, "_functional", None)
    return layer if isinstance(layer, Functional) else None


def has_call(model: Any) -> bool:
    """Whether the model has a ``call()`` of its own (functional models and Sequentials do)."""
    from keras.src.models.model import Model

    _, _, Layer, *_ = _keras_parts()
    return functional_graph(model) is not None or type(model).call not in (Layer.call, Model.call)


def model_method(model: Any, name: str | None) -> Any:
    """The bound method ``name`` of the model (``--method``); None when no name is given."""
    from modelscope.errors import UsageError

    if name is None:
        return None
    method = getattr(model, name, None)
    if not callable(method) or name.startswith("__"):
        own = sorted(n for n, v in vars(type(model)).items() if callable(v) and not n.startswith("_"))
        raise UsageError(f"--method {name}: {type(model).__name__} has no such method; "
                         f"its own methods: {', '.join(own) or '(none)'}")  # fmt: skip
    return method


def sublayers(layer: Any) -> list[Any]:
    """The layers a layer tracks directly (input layers left out)."""
    _, _, _, _, Sequential, InputLayer = _keras_parts()
    if isinstance(layer, Sequential):
        return list(layer.layers)
    return [l for l in getattr(layer, "_layers", ()) if not isinstance(l, InputLayer)]


class Tracer:
    """Runs ``model`` once on symbolic inputs, reporting every call to a :class:`Recorder`."""

    def __init__(self, model: Any, recorder: Recorder) -> None:
        self.model = model
        self.rec = recorder
        self.backend, self.tree, self.Layer, *_ = _keras_parts()
        self.sparse_inputs = False  # a model input is sparse: sparse specs are real

    # -- entry point --------------------------------------------------------------------------
    def run(self, inputs: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any], fn: Any = None,
            eager: bool = False) -> list[Any]:  # fmt: skip
        """Trace the model (or ``fn``, one of its methods); ``inputs`` are the flat tensors that
        ``args``/``kwargs`` hold: KerasTensors, or real tensors when ``eager``."""
        graph = functional_graph(self.model) if fn is None and not eager else None
        self.sparse_inputs = any(getattr(t, "sparse", False) for t in inputs)
        with self._wrapped_call(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if eager:
                result = self._recorded(fn)(*args, **kwargs) if fn else self.model(*args, **kwargs)
                flat = tensors(self.tree, result)
            elif fn is not None:
                result = self.backend.compute_output_spec(self._recorded(fn), *args, **kwargs)
                flat = tensors(self.tree, result)
            elif graph is not None:
                self.rec.start(inputs)
                outputs = self._run_graph(graph, inputs)
                flat = tensors(self.tree, outputs)
                self.rec.finish(flat)
            else:
                result = self.backend.compute_output_spec(self.model, *args, **kwargs)
                flat = tensors(self.tree, result)
        return flat

    def run_parts(self, parts: list[Any]) -> list[Any]:
        """Trace each built sub-model on its own inputs (for a container without ``call()``)."""
        graphs = [functional_graph(part) for part in parts]
        inputs = [t for g in graphs if g is not None for t in g.inputs]
        outputs = []
        with self._wrapped_call(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.rec.start(inputs)
            for part, g in zip(parts, graphs):
                own = list(g.inputs) if g is not None else []
                outputs += tensors(self.tree, self._call_layer(part, own[0] if len(own) == 1 else own))
            self.rec.finish(outputs)
        return outputs

    def _recorded(self, fn: Any) -> Any:
        """``fn`` with its inputs and outputs reported as the model's own."""

        def traced(*args: Any, **kwargs: Any) -> Any:
            self.rec.start(call_tensors(self.tree, args, kwargs))
            result = fn(*args, **kwargs)
            self.rec.finish(tensors(self.tree, result))
            return result

        return traced

    def warm_up(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Call the model symbolically once so that every layer builds its variables."""
        with self._wrapped_call(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model(*args, **kwargs)

    # -- functional graphs --------------------------------------------------------------------
    def _run_graph(self, graph: Any, flat_inputs: list[Any]) -> Any:
        def operation_fn(op: Any) -> Any:
            return functools.partial(self._call_layer, op)

        return graph._run_through_graph(flat_inputs, operation_fn=operation_fn)

    def _call_layer(self, layer: Any, *args: Any, **kwargs: Any) -> Any:
        inputs = call_tensors(self.tree, args, kwargs)
        frame = self.rec.enter(layer, inputs, (args, kwargs))
        try:
            outputs = self._compute(layer, frame, args, kwargs)
        except BaseException as e:
            self.rec.fail(frame, e)
            raise
        self.rec.exit(frame, tensors(self.tree, outputs))
        return outputs

    def _compute(self, layer: Any, frame: Frame, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        graph = functional_graph(layer)
        if graph is not None:
            return self._run_graph(graph, self._graph_inputs(graph, args, kwargs))
        if sublayers(layer):
            args, kwargs = self._dense_specs(args, kwargs)
            # The layer's own __call__ runs once more inside the scratch graph: that is this
            # same call, so the wrapper maps its tensors onto ours instead of recording it.
            frame.outer_inputs = call_tensors(self.tree, args, kwargs)
            traced = self.backend.compute_output_spec(layer, *args, **kwargs)
            return self._sharper(traced, self._declared_outputs(layer, frame, args, kwargs))
        known = self._recorded_outputs(layer, frame)
        if type(layer).__module__.startswith("keras.src."):
            return known if known is not None else layer.compute_output_spec(*args, **kwargs)
        return self._traced_leaf(layer, frame, args, kwargs, known)

    def _traced_leaf(self, layer: Any, frame: Frame, args: tuple[Any, ...], kwargs: dict[str, Any],
                     known: Any) -> Any:  # fmt: skip
        """A custom layer without sublayers: its ``call()`` runs in the scratch graph, because its
        own ``compute_output_shape`` may be loose (keras-hub's Moonshine rotary embedding says
        ``(None,)`` for a rank-2 output). Keras's figure fills in what the trace leaves unknown;
        when the call cannot run symbolically, Keras's figure stands."""
        frame.outer_inputs = call_tensors(self.tree, args, kwargs)
        try:
            traced = self.backend.compute_output_spec(layer, *args, **kwargs)
        except Exception:
            frame.outer_inputs = frame.inner_outputs = None
            return known if known is not None else layer.compute_output_spec(*args, **kwargs)
        return self._sharper(traced, known if known is not None else self._declared_outputs(layer, frame, args, kwargs))

    def _declared_outputs(self, layer: Any, frame: Frame, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """What Keras itself says this call returns: the outputs it recorded in the graph, or
        the layer's own ``compute_output_shape``; None when it says nothing."""
        known = self._recorded_outputs(layer, frame)
        if known is not None or getattr(layer.compute_output_shape, "_is_default", False):
            return known
        try:
            return layer.compute_output_spec(*args, **kwargs)
        except Exception:  # it cannot say; the traced outputs stand
            return None

    def _sharper(self, traced: Any, declared: Any) -> Any:
        """The declared outputs where they know more than the trace and never contradict it.

        TensorFlow's shape inference loses sizes that Keras knows (a block that reshapes with
        ``ops.shape(x)[0]``: Keras records ``(None, 69, 16)``, the scratch graph ``(None, None, 16)``).
        """
        ours, theirs = tensors(self.tree, traced), tensors(self.tree, declared) if declared is not None else []
        if len(ours) != len(theirs):
            return traced
        gained = False
        for a, b in zip(ours, theirs):
            sa, sb = tuple(a.shape), tuple(b.shape)
            if len(sa) != len(sb) or any(x is not None and x != y for x, y in zip(sa, sb)):
                return traced
            gained |= any(x is None and y is not None for x, y in zip(sa, sb))
        return declared if gained else traced

    def _dense_specs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Keras marks some dense results as sparse (``x * scalar``: its Multiply spec takes a
        Python number for a sparse tensor); running a block on a sparse placeholder would then
        fail where the real model runs. Unless the model's own inputs are sparse, a sparse spec
        reaching a block is given to it as the dense tensor it really is."""
        if self.sparse_inputs:
            return args, kwargs
        from keras.src.backend import KerasTensor

        def dense(x: Any) -> Any:
            if isinstance(x, KerasTensor) and x.sparse:
                y = KerasTensor(x.shape, x.dtype, sparse=False, ragged=x.ragged, name=x.name)
                self.rec.alias([y], [x])
                return y
            return x

        return self.tree.map_structure(dense, (args, kwargs))  # type: ignore[no-any-return]

    def _recorded_outputs(self, layer: Any, frame: Frame) -> Any | None:
        """The outputs Keras recorded when the graph was built, if this call is that call.

        Tracing a functional model on its own input tensors meets exactly the tensors in its
        nodes, so there is nothing to compute (this makes large models several times faster).
        """
        ids = [id(t) for t in frame.inputs]
        for node in getattr(layer, "_inbound_nodes", ()):
            if [id(t) for t in node.input_tensors] == ids:
                outputs = node.outputs
                return outputs[0] if len(outputs) == 1 else list(outputs)
        return None

    def _graph_inputs(self, graph: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        value = args[0] if args else kwargs.get("inputs")
        if isinstance(value, dict):
            names = [t.name for t in graph.inputs]
            if set(names) <= set(value):
                return [value[n] for n in names]
        return list(self.tree.flatten(value))

    # -- the Layer.__call__ wrapper -------------------------------------------------------------
    @contextmanager
    def _wrapped_call(self) -> Iterator[None]:
        original = self.Layer.__call__
        tracer = self

        @functools.wraps(original)
        def __call__(layer: Any, *args: Any, **kwargs: Any) -> Any:
            return tracer._on_call(original, layer, args, kwargs)

        self.Layer.__call__ = __call__
        try:
            yield
        finally:
            self.Layer.__call__ = original

    def _on_call(self, original: Any, layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        rec, tree = self.rec, self.tree
        top = rec.stack[-1] if rec.stack else None
        if top is not None and top.record.layer is layer and top.outer_inputs is not None:
            rec.alias(call_tensors(tree, args, kwargs), top.outer_inputs)
            top.outer_inputs = None
            result = original(layer, *args, **kwargs)
            top.inner_outputs = tensors(tree, result)
            return result
        if top is None and layer is rec.root:
            rec.start(call_tensors(tree, args, kwargs))
            result = original(layer, *args, **kwargs)
            rec.finish(tensors(tree, result))
            return result
        frame = rec.enter(layer, call_tensors(tree, args, kwargs), (args, kwargs))
        try:
            result = original(layer, *args, **kwargs)
        except BaseException as e:
            rec.fail(frame, e)
            raise
        rec.exit(frame, tensors(tree, result))
        return result


def call_arguments(
    model: Any, tensors_: list[Any], names: list[str | None], fn: Any = None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """How to pass the inputs to ``model`` (or to ``fn``, one of its methods): one tensor, a
    list, a dict, or separate arguments."""
    graph = functional_graph(model) if fn is None else None
    if graph is not None:
        if len(tensors_) == 1:
            return (tensors_[0],), {}
        return (tensors_,), {}
    params = [
        p for p in inspect.signature(fn or model.call).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in ("training", "mask")
    ]  # fmt: skip
    if all(names):
        named = {str(n): t for n, t in zip(names, tensors_)}
        order = [p.name for p in params]
        if order[: len(named)] and set(named) == set(order[: len(named)]):
            return tuple(named[n] for n in order[: len(named)]), {}  # call(self, image, meta)
        if set(named) <= set(order):
            return (), named
        return (named,), {}  # call(self, inputs) taking a dict
    if len(tensors_) == 1:
        return (tensors_[0],), {}
    if len(params) >= len(tensors_):
        return tuple(tensors_), {}
    return (list(tensors_),), {}
