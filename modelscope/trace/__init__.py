"""Tracing: run a built Keras model once and turn what happened into a :class:`TracedModel`.

This package is the only place that touches Keras internals.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from modelscope.errors import TraceError
from modelscope.model.inputs import InputArg, InputSpec, ModelInput, resolve
from modelscope.model.shapes import format_shape
from modelscope.model.traced import TracedModel
from modelscope.trace.collect import Notes, attr_name, collect, config_value, layer_config, parents_first
from modelscope.trace.concrete import trace_concrete
from modelscope.trace.recorder import Recorder, clean_message, dtype_of, is_recording_error, shape_of
from modelscope.trace.tracer import Tracer, call_arguments, functional_graph, has_call, model_method, sublayers

__all__ = [
    "attr_name",
    "config_value",
    "declared_inputs",
    "layer_config",
    "parents_first",
    "trace_error",
    "trace_model",
]


def declared_inputs(model: Any) -> list[ModelInput]:
    """The inputs a model already knows: functional inputs, or the shape given to ``build()``."""
    graph = functional_graph(model)
    if graph is not None:
        return [ModelInput(t.name, shape_of(t) or (), dtype_of(t)) for t in graph.inputs]
    shapes = getattr(model, "_build_shapes_dict", None) or {}
    if len(shapes) == 1 and getattr(model, "built", False):
        ((name, shape),) = shapes.items()
        if isinstance(shape, (tuple, list)) and shape and all(d is None or isinstance(d, int) for d in shape):
            # the batch of a build shape is whatever the first call had (block(tf.zeros([1, ...]))), not a
            # size the model declares
            return [ModelInput("input" if name == "input_shape" else name.removesuffix("_shape"),
                               (None, *shape[1:]), "float32")]  # fmt: skip
    return []


def _all_built(model: Any) -> bool:
    todo = [model]
    while todo:
        layer = todo.pop()
        if not layer.built:
            return False
        todo.extend(sublayers(layer))
    return True


def _symbolic_inputs(model: Any, args: list[InputArg]) -> list[Any]:
    """KerasTensors for the call; a functional model's own when they match exactly."""
    import keras

    graph = functional_graph(model)
    if graph is not None:
        own = list(graph.inputs)
        if [(shape_of(t), dtype_of(t)) for t in own] == [(a.shape, a.dtype) for a in args]:
            return own
    return [
        keras.Input(batch_shape=a.shape, dtype=a.dtype, name=a.name) if a.name
        else keras.Input(batch_shape=a.shape, dtype=a.dtype)
        for a in args
    ]  # fmt: skip


def raised_by_modelscope(error: BaseException) -> bool:
    """True for a failure of modelscope's own bookkeeping: a bug of ours (exit 3), never to be
    reported as a problem with the user's model or input shape."""
    return is_recording_error(error)


def _real_inputs(args: list[InputArg]) -> list[Any]:
    """Real tensors of the given (concrete) shapes: uniform random floats, integer zeros (valid
    token ids and indices), False, empty strings."""
    import keras
    import tensorflow as tf

    def tensor(a: InputArg) -> Any:
        shape = tuple(int(d or 0) for d in a.shape)
        dtype = a.dtype or "float32"
        if "float" in dtype:
            return keras.random.uniform(shape, dtype=dtype)
        if dtype == "string":
            return tf.fill(shape, "")
        return keras.ops.zeros(shape, dtype=dtype)

    try:
        return [tensor(a) for a in args]
    except Exception as e:  # out of memory for an absurd size
        shapes = ", ".join(format_shape(a.shape) for a in args)
        raise TraceError(f"could not make real inputs of shape {shapes} ({type(e).__name__}); "
                         "are the sizes in --input-shape what you meant?") from e  # fmt: skip


def trace_error(rec: Recorder, error: BaseException, phase: str) -> TraceError:
    """The user-facing error for a failed trace (callers re-raise :func:`raised_by_modelscope` errors)."""
    failure = rec.failure
    if failure is None:
        return TraceError(f"{phase} the model failed: {clean_message(error)}")
    shapes = ", ".join(format_shape(s) for s in failure.input_shapes) or "no tensors"
    return TraceError(
        f"{phase} the model failed in layer {failure.path!r} ({failure.cls}) "
        f"on input shape {shapes}:\n{clean_message(failure.error)}\n"
        "Check --input-shape (and --dtype) against what this layer expects."
    )


def trace_model(model: Any, spec: InputSpec, source: str | None = None) -> TracedModel:
    """Build ``model`` if needed, trace one call, and collect its layers and variables.

    ``spec.method`` traces that method instead of ``call``; a model without ``call()`` has its
    built sub-models traced one by one; a model that runs only on concrete shapes is traced at
    two concrete sizes (see :mod:`modelscope.trace.concrete`).
    """
    fn = model_method(model, spec.method)
    if fn is None and not has_call(model):
        return _trace_parts(model, source)
    resolved = resolve(spec, declared_inputs(model) if fn is None else [])
    try:
        return _trace_once(model, spec, resolved, source, fn)
    except TraceError as error:
        retry = functools.partial(_trace_once, model, spec, source=source, fn=fn)
        return trace_concrete(retry, resolved, error)


def _trace_once(model: Any, spec: InputSpec, resolved: list[InputArg], source: str | None, fn: Any = None,
                eager: bool = False) -> TracedModel:  # fmt: skip
    """One trace: symbolic, or on real tensors (``eager``, for models that need actual values)."""
    keras_inputs = _real_inputs(resolved) if eager else _symbolic_inputs(model, resolved)
    names = [a.name if spec.named else None for a in resolved]  # names pick dict/keyword calls
    args, kwargs = call_arguments(model, keras_inputs, names, fn)
    graph = functional_graph(model)
    if eager and fn is None and graph is not None:  # called for real: the inputs in the model's own structure
        import keras

        real = {id(t): x for t, x in zip(graph.inputs, keras_inputs)}
        args, kwargs = (keras.tree.map_structure(lambda t: real[id(t)], graph._inputs_struct),), {}

    if fn is None and not eager and not _all_built(model):
        warm = Recorder(root=model)
        try:
            Tracer(model, warm).warm_up(args, kwargs)
        except Exception as e:
            if raised_by_modelscope(e):
                raise
            raise trace_error(warm, e, "Building") from e
    rec = Recorder(root=model)
    try:
        outputs = Tracer(model, rec).run(keras_inputs, args, kwargs, fn, eager)
    except Exception as e:
        if raised_by_modelscope(e):
            raise
        raise trace_error(rec, e, "Running") from e
    notes = Notes()
    if fn is not None:
        notes.lines.append(f"traced {type(model).__name__}.{spec.method}() instead of call() (--method)")
    return collect(model, rec, resolved, outputs, source, (args, kwargs, fn), notes)


def _trace_parts(model: Any, source: str | None) -> TracedModel:
    """A container without ``call()`` (a VAE holding an encoder and a decoder): each built
    sub-model is traced on its own inputs, as the container's children."""
    parts = [layer for layer in sublayers(model) if getattr(functional_graph(layer), "inputs", None)]
    cls = type(model).__name__
    if not parts:
        raise TraceError(f"{cls} has no call() method and holds no built sub-model with inputs of its own; "
                         "trace one of its methods with --method NAME (e.g. --method encode)")  # fmt: skip
    rec = Recorder(root=model)
    try:
        outputs = Tracer(model, rec).run_parts(parts)
    except Exception as e:
        if raised_by_modelscope(e):
            raise
        raise trace_error(rec, e, "Running") from e
    names = [attr_name(model, p) or p.name for p in parts]

    def labels(tensors: list[Any], name: str) -> list[str]:  # "decoder", or "encoder.z_mean" for several
        def own(t: Any) -> str:  # the input's name, or the layer that makes the output
            operation = getattr(getattr(t, "_keras_history", None), "operation", None)
            return str(operation.name if operation is not None else t.name)

        return [name] if len(tensors) == 1 else [f"{name}.{own(t)}" for t in tensors]

    graphs = [g for g in (functional_graph(p) for p in parts) if g is not None]
    resolved = [
        InputArg(shape_of(t) or (), label, dtype_of(t))
        for g, name in zip(graphs, names)
        for t, label in zip(g.inputs, labels(g.inputs, name))
    ]  # fmt: skip
    output_names = [label for g, name in zip(graphs, names) for label in labels(g.outputs, name)]
    notes = Notes([f"{cls} has no call(): its sub-models {', '.join(names)} were traced each on its own inputs "
                   "(--method NAME traces one of its methods)"])  # fmt: skip
    traced = collect(model, rec, resolved, outputs, source, None, notes)
    return replace(traced, outputs=tuple(replace(o, name=n) for o, n in zip(traced.outputs, output_names)))
