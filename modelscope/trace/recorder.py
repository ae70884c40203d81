"""Recording layer calls: the call tree, shapes, call counts and data-flow sources of tensors.

The recorder is told about calls (``enter``/``exit``) by the tracer and keeps, for every tensor
it has seen, which layer call produced it (the innermost one) or which model input it is.
A tensor made by raw ops between layers (``x + y`` inside a residual block) is traced back
through its graph operations to the nearest known tensors, so edges follow the true data flow.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from modelscope.model.shapes import Shape

Source = tuple[str, int] | int  # (layer path, call index), or the index of a model input
CallEdge = tuple[str, int, str, int, bool]  # src path, src call, dst path, dst call, via ops; "" = the model
T = TypeVar("T")
_WALK_LIMIT = 20_000  # graph operations visited at most when tracing one tensor back


def tensor_key(t: Any) -> tuple[Any, ...]:
    """A stable identity for a tensor: graph tensors by graph and name, anything else (eager
    tensors, KerasTensors, sparse and ragged tensors, which have no name) by object."""
    try:
        graph, name = t.graph, t.name
    except (AttributeError, ValueError, TypeError):  # eager tensors raise on .graph
        return ("object", id(t))
    return ("graph", id(graph), name) if graph is not None and isinstance(name, str) else ("object", id(t))


def components(t: Any) -> list[Any]:
    """The plain tensors a composite tensor is made of (a SparseTensor's indices, values and
    shape; a RaggedTensor's values and row splits); ``[]`` for a plain tensor."""
    if not hasattr(t, "_type_spec") or not hasattr(t, "_to_components"):
        return []
    try:
        import tensorflow as tf

        return [c for c in tf.nest.flatten(t, expand_composites=True) if c is not t]
    except Exception:  # an unknown composite: it is still tracked as one object
        return []


def shape_of(t: Any) -> Shape | None:
    shape = t.shape
    if getattr(shape, "rank", 0) is None:
        return None
    return tuple(None if d is None else int(d) for d in shape)


def dtype_of(t: Any) -> str:
    dtype = t.dtype
    return str(getattr(dtype, "name", dtype))


class RecordingError(Exception):
    """modelscope's own bookkeeping failed during a trace: a bug of ours (exit 3), never to be
    reported as a problem with the model or its input shape. Keras may re-raise it with a longer
    message, so it takes one argument and is recognised by its type."""


def _bookkeeping(method: Callable[..., T]) -> Callable[..., T]:
    """Any failure inside the decorated Recorder method becomes a :class:`RecordingError`."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except RecordingError:
            raise
        except Exception as e:
            raise RecordingError(f"recording {method.__name__}() failed: {type(e).__name__}: {e}") from e

    return guarded


def is_recording_error(error: BaseException | None) -> bool:
    """Whether ``error`` is, or was caused by, a :class:`RecordingError`."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, RecordingError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


@dataclass
class LayerRecord:
    """One layer as the trace saw it; ``calls`` counts every real call."""

    layer: Any
    path: str
    name: str
    parent: str | None
    depth: int
    input_shapes: tuple[Shape | None, ...] = ()
    output_shapes: tuple[Shape | None, ...] = ()
    calls: int = 0
    call_shapes: list[tuple[tuple[Shape | None, ...], tuple[Shape | None, ...]]] = field(default_factory=list)
    first_call: tuple[tuple[Any, ...], dict[str, Any]] | None = None  # (args, kwargs), for costing


@dataclass
class Frame:
    """A call in progress. ``outer_inputs`` is set when the same layer's own ``__call__``
    is about to run inside a graph (see ``tracer``): that inner call is the same call."""

    record: LayerRecord
    index: int = 0  # which call of the layer this is (0-based)
    inputs: list[Any] = field(default_factory=list)
    has_children: bool = False
    outer_inputs: list[Any] | None = None
    inner_outputs: list[Any] | None = None


@dataclass
class Failure:
    path: str
    cls: str
    input_shapes: tuple[Shape | None, ...]
    error: BaseException


@dataclass
class Recorder:
    root: Any
    records: dict[int, LayerRecord] = field(default_factory=dict)  # id(layer) -> record
    stack: list[Frame] = field(default_factory=list)
    edges: dict[tuple[str, str, bool], None] = field(default_factory=dict)  # (src, dst, via ops)
    call_edges: dict[CallEdge, None] = field(default_factory=dict)  # the same, call by call
    input_consumers: dict[int, dict[str, None]] = field(default_factory=dict)
    input_ops_consumers: dict[int, dict[str, None]] = field(default_factory=dict)  # containers' own ops
    output_producers: list[tuple[str, ...]] = field(default_factory=list)
    failure: Failure | None = None
    _produced: dict[tuple[Any, ...], frozenset[Source]] = field(default_factory=dict)
    _walked: dict[tuple[Any, ...], frozenset[Source]] = field(default_factory=dict)
    _alive: list[Any] = field(default_factory=list)  # keeps keyed tensors alive (ids stay unique)
    _paths: dict[str, int] = field(default_factory=dict)  # path -> order its layer was first called in

    def ordered(self, sources: Iterable[Source]) -> list[Source]:
        """Sources in a fixed order (model inputs by index, then layer calls in the order the layers
        were first called), so edges come out the same whatever the hash seed and whatever names
        Keras gave the layers."""
        return sorted(sources, key=lambda s: (1, self._paths[s[0]], s[1]) if isinstance(s, tuple) else (0, 0, s))

    # -- the model's own inputs and outputs ----------------------------------------------------
    @_bookkeeping
    def start(self, inputs: list[Any]) -> None:
        for i, t in enumerate(inputs):
            self._set(t, frozenset([i]))
            self.input_consumers[i] = {}

    @_bookkeeping
    def finish(self, outputs: list[Any]) -> None:
        producers = []
        for i, t in enumerate(outputs):
            layers = [s for s in self.ordered(self.sources(t)) if isinstance(s, tuple)]
            producers.append(tuple(dict.fromkeys(path for path, _ in layers)))
            for path, k in layers:
                self.call_edges.setdefault((path, k, "", i, False))
        self.output_producers = producers

    # -- layer calls --------------------------------------------------------------------------
    @_bookkeeping
    def enter(self, layer: Any, inputs: list[Any], call: tuple[tuple[Any, ...], dict[str, Any]] | None = None) -> Frame:
        record = self.records.get(id(layer))
        if record is None:
            record = self._new_record(layer)
        if record.calls == 0:
            record.first_call = call
        record.calls += 1
        index = record.calls - 1
        shapes = tuple(shape_of(t) for t in inputs)
        if record.calls == 1:
            record.input_shapes = shapes
        record.call_shapes.append((shapes, ()))
        for t in inputs:
            for src in self.ordered(self.sources(t)):
                self._link(src, record.path, index, ops=False)
        if self.stack:
            self.stack[-1].has_children = True
        frame = Frame(record, index, inputs)
        self.stack.append(frame)
        return frame

    @_bookkeeping
    def exit(self, frame: Frame, outputs: list[Any]) -> None:
        popped = self.stack.pop()
        assert popped is frame, "layer calls must nest"
        record = frame.record
        shapes = tuple(shape_of(t) for t in outputs)
        if frame.index == 0:
            record.output_shapes = shapes
        record.call_shapes[frame.index] = (record.call_shapes[frame.index][0], shapes)
        mine: frozenset[Source] = frozenset([(record.path, frame.index)])
        inner = frame.inner_outputs
        for i, t in enumerate(outputs):
            if inner is not None and i < len(inner):
                t_inner = inner[i]
                if tensor_key(t_inner) not in self._produced:
                    self._note_own_ops(frame, t_inner)
                self._set(t, self._produced.get(tensor_key(t_inner), mine))
            elif tensor_key(t) not in self._produced:
                self._note_own_ops(frame, t)
                self._set(t, mine)

    def _note_own_ops(self, frame: Frame, t: Any) -> None:
        """A container's output made by its own raw ops: record what those ops consumed."""
        if frame.has_children:
            for src in self.ordered(self._walk_back(t)):
                if isinstance(src, int) or src[0] != frame.record.path:
                    self._link(src, frame.record.path, frame.index, ops=True)

    def _link(self, src: Source, dst: str, index: int, ops: bool) -> None:
        """Record that ``src`` fed call ``index`` of ``dst`` (its input, or its own ops)."""
        if isinstance(src, int):
            consumers = self.input_ops_consumers if ops else self.input_consumers
            consumers.setdefault(src, {}).setdefault(dst)
            self.call_edges.setdefault(("", src, dst, index, ops))
        else:
            self.edges.setdefault((src[0], dst, ops))
            self.call_edges.setdefault((src[0], src[1], dst, index, ops))

    def fail(self, frame: Frame, error: BaseException) -> None:
        """Note the innermost failing call (the first one to fail) and unwind it."""
        if self.stack and self.stack[-1] is frame:
            self.stack.pop()
        if self.failure is None:
            r = frame.record
            self.failure = Failure(r.path, type(r.layer).__name__, r.input_shapes, error)

    @_bookkeeping
    def alias(self, inner: list[Any], outer: list[Any]) -> None:
        """``inner`` tensors stand for ``outer`` ones (same call seen inside a graph)."""
        for a, b in zip(inner, outer):
            self._set(a, self.sources(b))

    # -- sources ------------------------------------------------------------------------------
    def sources(self, t: Any) -> frozenset[Source]:
        key = tensor_key(t)
        found = self._produced.get(key)
        if found is None:
            found = self._walked.get(key)
        if found is None:
            found = self._walk_back(t)
            self._walked[key] = found
            self._alive.append(t)
        return found

    def _walk_back(self, t: Any) -> frozenset[Source]:
        """The sources of a tensor made by raw ops: walk its graph back to known tensors."""
        parts = components(t)
        if parts:
            return frozenset().union(*(self.sources(c) for c in parts))
        try:
            op = t.op
        except (AttributeError, ValueError):  # eager tensors have no op
            return frozenset()
        if op is None or not hasattr(op, "inputs"):
            return frozenset()
        found: set[Source] = set()
        todo, seen = [op], set[str]()
        while todo and len(seen) < _WALK_LIMIT:
            op = todo.pop()
            if op.name in seen:
                continue
            seen.add(op.name)
            for x in op.inputs:
                known = self._produced.get(tensor_key(x))
                if known is None:
                    known = self._walked.get(tensor_key(x))
                if known is not None:
                    found |= known
                else:
                    todo.append(x.op)
        return frozenset(found)

    def _set(self, t: Any, sources: frozenset[Source]) -> None:
        for x in [t, *components(t)]:  # ops consume a sparse tensor's parts, not the tensor
            self._produced[tensor_key(x)] = sources
            self._alive.append(x)

    def _new_record(self, layer: Any) -> LayerRecord:
        parent = self.stack[-1].record if self.stack else None
        prefix = f"{parent.path}/" if parent else ""
        stem = path_name(layer)
        path = prefix + stem
        n = 2
        while path in self._paths:  # two distinct layers with one name under one parent
            path, n = f"{prefix}{stem}#{n}", n + 1
        self._paths[path] = len(self._paths)
        record = LayerRecord(
            layer, path, str(layer.name), parent.path if parent else None, (parent.depth if parent else 0) + 1
        )
        self.records[id(layer)] = record
        return record


def path_name(layer: Any) -> str:
    """A layer's name as a path part: its Keras name, or for ``name=''`` (legal in Keras, and
    used by TensorFlow's tutorials) the name Keras would have made from its class."""
    name = str(layer.name)
    return name or re.sub(r"(?<!^)(?=[A-Z])", "_", type(layer).__name__).lower()


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def clean_message(error: BaseException) -> str:
    """The useful part of a Keras/TensorFlow error message, without its call-context wrapping."""
    text = _ANSI.sub("", str(error)).strip()
    text = re.split(r"\n\s*Arguments received by ", text)[0]
    text = re.sub(r"^Exception encountered when calling [^\n]*\n*", "", text).strip()
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines[:6]) or type(error).__name__
