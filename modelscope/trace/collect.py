"""Collecting what the recorder saw into a :class:`TracedModel`: the layer tree, each variable
once with its owner, settings, costs, shapes and edges. What cannot be determined for one layer
is left unknown with a warning (:class:`Notes`) rather than failing the trace."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from modelscope.model.inputs import InputArg
from modelscope.model.report import CallEdge, CallInfo, Cost, Edge, InputInfo, ModelInfo, OutputInfo, VariableInfo
from modelscope.model.settings import CONFIG_KEYS, config_value
from modelscope.model.traced import TracedLayer, TracedModel
from modelscope.trace.costing import activation_bytes, own_ops_cost, record_cost
from modelscope.trace.recorder import LayerRecord, Recorder, clean_message, dtype_of, path_name, shape_of
from modelscope.trace.tracer import functional_graph, sublayers


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


def unreached(rec: Recorder, children: Callable[[Any], list[Any]] = sublayers) -> list[LayerRecord]:
    """Records for tracked sublayers that the call never reached (unused or called directly);
    ``children`` lists a layer's sublayers (Keras 3's by default; tf_keras's for Keras 2)."""
    extra: list[LayerRecord] = []
    todo = [(rec.root, None, 0)] + [(r.layer, r.path, r.depth) for r in rec.records.values()]
    while todo:
        layer, path, depth = todo.pop(0)
        for child in children(layer):
            if id(child) in rec.records:
                continue
            prefix = f"{path}/" if path else ""
            record = LayerRecord(child, prefix + path_name(child), str(child.name), path, depth + 1)
            rec.records[id(child)] = record
            extra.append(record)
            todo.append((child, record.path, depth + 1))
    return extra


def repeated_calls(rec: Recorder, records: list[LayerRecord]) -> tuple[tuple[CallInfo, ...], tuple[CallEdge, ...]]:
    """Every call of the layers called more than once, and the edges that touch them."""
    repeated = {r.path for r in records if r.calls > 1}
    calls = tuple(
        CallInfo(r.path, k, ins, outs)
        for r in records
        if r.path in repeated
        for k, (ins, outs) in enumerate(r.call_shapes)
    )
    return calls, tuple(CallEdge(*e) for e in rec.call_edges if e[0] in repeated or e[2] in repeated)


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


def collect(
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
    records = parents_first(reached + unreached(rec))
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
    costs: dict[Any, Cost] = {}  # own-ops costs of identical layers, counted once (see costing.py)
    for r in records:
        parent = layer_of_path[r.parent] if r.parent else model
        own = tuple(index[id(v)] for v in getattr(r.layer, "weights", ()) if id(v) in index)
        cost, covers = notes.attempt("the cost", r.path, (Cost(None, None, "could not be computed"), False),
                                     record_cost, r, functional_graph, costs)  # fmt: skip
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
    calls, call_edges = repeated_calls(rec, records)
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
