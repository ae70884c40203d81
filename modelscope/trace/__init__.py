"""Tracing: run a built Keras model once and turn what happened into a :class:`TracedModel`.

This package is the only place that touches Keras internals.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from modelscope.errors import TraceError
from modelscope.model.inputs import InputArg, InputSpec, ModelInput, format_shape, resolve
from modelscope.model.report import CallEdge, CallInfo, Cost, Edge, InputInfo, ModelInfo, OutputInfo, VariableInfo
from modelscope.model.traced import TracedLayer, TracedModel
from modelscope.trace.concrete import trace_concrete
from modelscope.trace.costing import activation_bytes, own_ops_cost, record_cost
from modelscope.trace.recorder import (
    LayerRecord,
    Recorder,
    clean_message,
    dtype_of,
    is_recording_error,
    path_name,
    shape_of,
)
from modelscope.trace.tracer import Tracer, call_arguments, functional_graph, has_call, model_method, sublayers

__all__ = ["attr_name", "declared_inputs", "parents_first", "trace_error", "trace_model"]


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
    return _collect(model, rec, resolved, outputs, source, (args, kwargs, fn), notes)


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
    traced = _collect(model, rec, resolved, outputs, source, None, notes)
    return replace(traced, outputs=tuple(replace(o, name=n) for o, n in zip(traced.outputs, output_names)))


def _kind(model: Any, records: list[LayerRecord]) -> str:
    from keras.src.models.sequential import Sequential

    if isinstance(model, Sequential):
        return "sequential"
    if functional_graph(model) is not None:
        return "functional"
    if any(functional_graph(r.layer) is not None for r in records if r.depth == 1):
        return "hybrid"
    return "subclassed"


_CONSTANT_INITS = {"Zeros": "zeros", "Ones": "ones", "Constant": "constant"}


def constant_init(layer: Any, variable: Any) -> str | None:
    """``zeros``/``ones``/``constant`` when ``layer`` initialises ``variable`` to a constant (its
    ``<name>_initializer``, as Keras layers keep them: ``kernel_initializer="zeros"``)."""
    name = str(getattr(variable, "name", "")).split("/")[-1].split(":")[0]
    for attr in (f"{name}_initializer", f"{name.removesuffix('_kernel')}_initializer"):
        init = getattr(layer, attr, None)
        if init is not None:
            return _CONSTANT_INITS.get(type(init).__name__)
    return None


def attr_name(parent: Any, child: Any) -> str | None:
    """The attribute under which ``parent`` holds ``child`` (``blocks[2]`` for lists)."""
    public: list[str] = []
    private: list[str] = []
    for name, value in vars(parent).items():
        if name.startswith("_"):  # Keras's own bookkeeping lists; a private attribute is kept
            if value is child and name not in ("_functional", "_tracked"):
                private.append(name)
        elif value is child:
            public.append(name)
        elif isinstance(value, (list, tuple)):
            public += [f"{name}[{i}]" for i, v in enumerate(value) if v is child]
        elif isinstance(value, dict):
            public += [f"{name}[{k!r}]" for k, v in value.items() if v is child]
    return (public or private or [None])[0]  # type: ignore[list-item]


def _unreached(rec: Recorder) -> list[LayerRecord]:
    """Records for tracked sublayers that the call never reached (unused or called directly)."""
    extra: list[LayerRecord] = []
    todo = [(rec.root, None, 0)] + [(r.layer, r.path, r.depth) for r in rec.records.values()]
    while todo:
        layer, path, depth = todo.pop(0)
        for child in sublayers(layer):
            if id(child) in rec.records:
                continue
            prefix = f"{path}/" if path else ""
            record = LayerRecord(child, prefix + path_name(child), str(child.name), path, depth + 1)
            rec.records[id(child)] = record
            extra.append(record)
            todo.append((child, record.path, depth + 1))
    return extra


def parents_first(records: list[LayerRecord]) -> list[LayerRecord]:
    """Parents before children, siblings in call order (unreached ones last)."""
    by_parent: dict[str | None, list[LayerRecord]] = {}
    for r in records:
        by_parent.setdefault(r.parent, []).append(r)
    out: list[LayerRecord] = []

    def visit(parent: str | None) -> None:
        for r in by_parent.get(parent, ()):
            out.append(r)
            visit(r.path)

    visit(None)
    return out


T = TypeVar("T")


@dataclass
class Notes:
    """Warnings for the report: how the model was traced, and what could not be determined,
    one line per kind of failure naming the first layers it hit."""

    lines: list[str] = field(default_factory=list)
    failures: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def attempt(self, what: str, subject: str, unknown: T, compute: Callable[..., T], *args: Any) -> T:
        """``compute(*args)``, or ``unknown`` with a warning when it fails (a partial report beats a crash)."""
        try:
            return compute(*args)
        except Exception as e:
            error = f"{type(e).__name__}: {clean_message(e).splitlines()[0]}"
            self.failures.setdefault((what, error), []).append(subject)
            return unknown

    def warnings(self) -> tuple[str, ...]:
        out = list(self.lines)
        for (what, error), subjects in self.failures.items():
            more = f" and {len(subjects) - 3} more" if len(subjects) > 3 else ""
            names = ", ".join(repr(s) for s in subjects[:3]) + more
            out.append(f"{what} of {names} could not be determined ({error}); shown as unknown")
        return tuple(out)


def _collect(
    model: Any,
    rec: Recorder,
    resolved: list[InputArg],
    outputs: list[Any],
    source: str | None,
    call: tuple[tuple[Any, ...], dict[str, Any], Any] | None,
    notes: Notes | None = None,
) -> TracedModel:
    """Everything the recorder saw, as a TracedModel. ``call`` is (args, kwargs, method) of the
    traced call, for the cost of the model's own ops; ``None`` when it has none."""
    notes = Notes() if notes is None else notes
    reached = list(rec.records.values())
    records = parents_first(reached + _unreached(rec))
    layer_of_path = {r.path: r.layer for r in records}

    # Variables: every model weight once, owned by the deepest layer that created it.
    weights = list(model.weights)
    index = {id(v): i for i, v in enumerate(weights)}
    trainable = {id(v) for v in model.trainable_weights}
    owner: dict[int, str] = {}
    inits: dict[int, str | None] = {}
    for r in reversed(records):  # children come after parents, so this visits deepest first
        own_vars = getattr(r.layer, "_trainable_variables", []) + getattr(r.layer, "_non_trainable_variables", [])
        for v in own_vars:  # (a functional graph's raw ops, such as Add, are operations with none)
            if id(v) not in owner:
                owner[id(v)], inits[id(v)] = r.path, constant_init(r.layer, v)
    variables = []
    for v in weights:
        layer_path = owner.get(id(v), "")
        prefix = f"{layer_path}/" if layer_path else ""
        variables.append(VariableInfo(prefix + v.name, layer_path, shape_of(v) or (), dtype_of(v),
                                      id(v) in trainable, inits.get(id(v))))  # fmt: skip

    layers = []
    for r in records:
        parent = layer_of_path[r.parent] if r.parent else model
        own = tuple(index[id(v)] for v in getattr(r.layer, "weights", ()) if id(v) in index)
        cost, covers = notes.attempt("the cost", r.path, (Cost(None, None, "could not be computed"), False),
                                     record_cost, r, functional_graph)  # fmt: skip
        layers.append(
            TracedLayer(
                path=r.path, name=r.name,
                attr=notes.attempt("the attribute name", r.path, None, attr_name, parent, r.layer),
                cls=type(r.layer).__name__, depth=r.depth, parent=r.parent,
                input_shapes=r.input_shapes, output_shapes=r.output_shapes,
                calls=r.calls, built=bool(getattr(r.layer, "built", True)), variables=own,
                cost=cost, cost_covers_children=covers,
                activation_bytes=notes.attempt("the output size", r.path, None, activation_bytes, r),
                config=notes.attempt("the settings", r.path, {}, layer_config, r.layer),
            )
        )  # fmt: skip
    own_cost = (
        Cost(0, 0) if call is None or (call[2] is None and functional_graph(model) is not None)
        else notes.attempt("the cost", "(the model's own ops)", Cost(None, None), own_ops_cost, model, *call)
    )  # fmt: skip

    default_names = [_default_name("output", i, len(outputs)) for i in range(len(outputs))]
    output_names = notes.attempt("the names", "the outputs", default_names, _output_names, model, len(outputs))
    repeated = {r.path for r in records if r.calls > 1}
    calls = tuple(
        CallInfo(r.path, k, ins, outs)
        for r in records
        if r.path in repeated
        for k, (ins, outs) in enumerate(r.call_shapes)
    )
    call_edges = tuple(CallEdge(*e) for e in rec.call_edges if e[0] in repeated or e[2] in repeated)
    return TracedModel(
        model=ModelInfo(model.name, type(model).__name__, _kind(model, reached), source),
        inputs=tuple(
            InputInfo(a.name or _default_name("input", i, len(resolved)), a.shape,
                      a.dtype or "float32", tuple(rec.input_consumers.get(i, ())),
                      tuple(rec.input_ops_consumers.get(i, ())))
            for i, a in enumerate(resolved)
        ),
        outputs=tuple(
            OutputInfo(output_names[i], shape_of(t), dtype_of(t),
                       rec.output_producers[i] if i < len(rec.output_producers) else ())
            for i, t in enumerate(outputs)
        ),
        layers=tuple(layers),
        edges=tuple(Edge(src, dst, ops) for src, dst, ops in rec.edges),
        variables=tuple(variables),
        model_variables=tuple(range(len(weights))),
        calls=calls,
        call_edges=call_edges,
        own_cost=own_cost,
        warnings=notes.warnings(),
    )  # fmt: skip


CONFIG_KEYS = ("units", "filters", "kernel_size", "strides", "padding", "dilation_rate", "groups", "depth_multiplier",
               "activation", "use_bias", "pool_size", "rate", "num_heads", "key_dim", "value_dim", "input_dim",
               "output_dim", "axis", "return_sequences", "target_shape", "size", "interpolation")  # fmt: skip


def layer_config(layer: Any) -> dict[str, Any]:
    """The settings ``diff`` compares: the keys of ``CONFIG_KEYS`` in the layer's config, as JSON.

    A config may hold anything (functions, nested serialised objects, tensors): each value is
    reduced to plain JSON by :func:`config_value`, so no config can break the report.
    """
    try:
        config = layer.get_config()
    except NotImplementedError:  # a custom layer without get_config(): it has no settings to compare
        return {}
    return {key: config_value(config[key]) for key in CONFIG_KEYS if key in config}


def config_value(value: Any, depth: int = 0) -> Any:
    """A config value as JSON: numbers, strings, booleans and lists of them as they are; a
    serialised object (``{"class_name": ..., "config": ...}``) or any other object by its name."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)) and depth < 4:
        return [config_value(v, depth + 1) for v in value]
    if isinstance(value, dict):
        inner = value.get("config")
        if isinstance(inner, str):  # keras-hub: {"class_name": "function", "config": "keras_hub>gelu"}
            return inner
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return inner["name"]
        return str(value.get("class_name", "object"))
    name = getattr(value, "__name__", None) or getattr(value, "name", None)
    return name if isinstance(name, str) else type(value).__name__


def _default_name(stem: str, i: int, n: int) -> str:
    return stem if n == 1 else f"{stem}_{i}"


def _output_names(model: Any, n: int) -> list[str]:
    """The keys of a dict of outputs (SAM's ``image_embeddings``, ...), else the producing layers."""
    graph = functional_graph(model)
    if graph is not None:
        from keras import tree

        struct = getattr(graph, "_outputs_struct", None)
        if isinstance(struct, dict):
            keys = ["/".join(str(p) for p in path) for path, _ in tree.flatten_with_path(struct)]
            if len(keys) == n:
                return keys
        names = [t._keras_history.operation.name for t in graph.outputs]
        if len(names) == n:
            return names
    return [_default_name("output", i, n) for i in range(n)]
