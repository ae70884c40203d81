"""Measuring where a forward (and backward) pass spends its time, layer by layer (TensorFlow side).

Two methods. ``traced`` (the default, :mod:`modelscope.trace.op_profile`) takes each layer's time
from the ops of the whole model's compiled call, so the layers add up to the model. ``isolated``
(below) times each layer alone; with ``jit`` (XLA fuses across layers) it is always the method.

How each figure of the isolated method is obtained (the README's "modelscope profile" says the same):

1. The model runs once, eagerly, on random inputs of the report's input shapes at the batch
   size, while ``keras.layers.Layer.__call__`` is wrapped (restored in ``finally``) to keep each
   layer's actual call arguments, in call order, and the bytes of its outputs.
2. Each called layer is then timed *in isolation* on exactly those arguments: one
   ``tf.function`` (``jit_compile=True`` with ``--jit``) runs all of the layer's calls of that
   forward pass. The first call (tracing, compilation) is never timed; ``warmup`` more runs are
   not timed either; then ``repeat`` timed runs, each ending with the results copied to NumPy,
   which waits until the device has finished (on a CPU it is a cheap copy; on a GPU it is the
   synchronisation). Median, min and max of the timed runs are kept.
3. ``backward`` times a second ``tf.function`` that computes the forward and the gradient of the
   sum of the (floating-point) outputs with respect to the floating-point inputs and the layer's
   trainable variables under a ``tf.GradientTape``: forward and backward together.
4. The whole model is timed the same way, as one compiled call.
5. Memory: the bytes of each layer's outputs are counted in step 1; the process's peak resident
   set size (``getrusage`` ``ru_maxrss``, a high-water mark) is read before step 1 and after the
   last timed run, so its growth is what the runs needed above the earlier peak.

A layer's time includes its sublayers' (containers are called, so they are timed too), and each
isolated call pays the dispatch of one ``tf.function`` call (tens of microseconds on a CPU), which
the whole model pays once: so the layers' times add up to more than the model's for small layers,
and to less where a compiled model fuses work across layers. The report states the gap.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from modelscope.errors import TraceError, UsageError
from modelscope.model.inputs import InputArg, InputSpec
from modelscope.model.profile import (
    LayerTiming,
    ProcessMemory,
    ProfileReport,
    ProfileSettings,
    Timing,
    keras_paths,
)
from modelscope.model.report import Report
from modelscope.model.shapes import format_shape
from modelscope.trace.call_hooks import hooked_calls
from modelscope.trace.recorder import clean_message
from modelscope.trace.tracer import call_arguments, functional_graph, model_method

TRACED = (
    "Traced: the whole model ran as one compiled tf.function, traced once with Layer.__call__ wrapped to note "
    "which layer's call created each graph op; after {warmup} untimed warm-up call(s), {repeat} untraced calls "
    "(median: 'Whole model') and {repeat} calls under TensorFlow's host profiler, whose op events were mapped "
    "back to layers (a fused conv/matmul kernel to the layer of its weights, with the bias, activation or add it "
    "fused; renamed nodes by name prefix or scope). Each instant was shared equally among the ops running then. "
    "Figures: means over the middle half of the profiled calls by wall time (min–max over the same calls); a "
    "layer's time is its own ops' plus its sublayers'.{backward}"
)
TRACED_BACKWARD = (
    " Fwd+bwd: the same for one compiled call computing the forward and the gradient of the sum of the outputs "
    "with respect to the inputs and trainable variables; gradient ops go to the layer of the op they differentiate."
)
METHOD = (
    "Each called layer was timed in isolation on the arguments it received in one eager forward pass on "
    "random inputs: one tf.function{jit} running all of its calls, compiled by an untimed first call, "
    "{warmup} untimed warm-up run(s), then {repeat} timed run(s), each ending when its results are copied "
    "to NumPy (the device has finished). Figures: median, min and max of the timed runs. A layer's time "
    "includes its sublayers'. The whole model was timed the same way, as one compiled call.{backward}"
)


@dataclass
class Captured:
    """A layer met during the eager forward pass: its path of Keras names and its calls."""

    layer: Any
    keras_path: str
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    output_bytes: int = 0


def concrete_inputs(report: Report, batch_size: int | None) -> list[InputArg]:
    """The report's inputs at a concrete size: the batch (first) dimension at ``batch_size`` (1 by
    default, or the size the model fixes); any other unknown dimension must be given."""
    args = []
    for item in report.inputs:
        shape = item.shape
        if shape is None or not shape:
            raise UsageError(f"input {item.name!r}: its shape is unknown; give it with --input-shape")
        first = shape[0]
        if first is not None and batch_size is not None and first != batch_size:
            raise UsageError(f"input {item.name!r} has a fixed batch size of {first} ({format_shape(shape)}); "
                             f"give --batch-size {first} or leave it out")  # fmt: skip
        unknown = [i for i, d in enumerate(shape) if d is None and i > 0]
        if unknown:
            raise UsageError(f"input {item.name!r} {format_shape(shape)}: dimension {unknown[0]} has no size; a "
                             "profile runs real tensors, so give every size but the batch in --input-shape "
                             "(e.g. None,128 for sequences of 128)")  # fmt: skip
        batch = first if first is not None else batch_size or 1
        args.append(InputArg((batch, *shape[1:]), item.name, item.dtype))
    return args


def random_inputs(args: list[InputArg]) -> list[Any]:
    """The trace's real inputs (uniform floats, integer zeros: valid token ids and indices), but
    ones for an integer or boolean input named like a mask (``padding_mask``): nothing padded, as in
    real use, rather than a pass where every position is masked out."""
    import keras

    from modelscope.trace import _real_inputs

    tensors = _real_inputs(args)
    for i, (arg, t) in enumerate(zip(args, tensors)):
        if "mask" in (arg.name or "").lower() and not ("float" in (arg.dtype or "float32") or arg.dtype == "string"):
            tensors[i] = keras.ops.ones_like(t)
    return tensors


def _flat(value: Any) -> list[Any]:
    import tensorflow as tf

    return [x for x in tf.nest.flatten(value, expand_composites=False) if tf.is_tensor(x)]


def _nbytes(value: Any) -> int:
    total = 0
    for t in _flat(value):
        if hasattr(t, "shape") and t.shape.is_fully_defined():
            total += int(t.shape.num_elements()) * t.dtype.size
    return total


def capture(model: Any, args: tuple[Any, ...], kwargs: dict[str, Any], fn: Any = None) -> list[Captured]:
    """Run ``model`` (or ``fn``) once eagerly and return each layer called (and each functional-graph
    operation: see ``call_hooks.py``), parents first, with the arguments of every call it received."""
    import tensorflow as tf

    stack: list[Captured] = []
    found: dict[int, Captured] = {}

    def record(original: Any, op: Any, a: tuple[Any, ...], k: dict[str, Any]) -> Any:
        if op is model or not tf.executing_eagerly():  # the model itself; a symbolic build inside a call
            return original(op, *a, **k)
        entry = found.get(id(op))
        if entry is None:
            parent = stack[-1].keras_path + "/" if stack else ""
            entry = found[id(op)] = Captured(op, parent + str(op.name))
        stack.append(entry)
        try:
            out = original(op, *a, **k)
        finally:
            stack.pop()
        entry.calls.append((a, k))
        entry.output_bytes += _nbytes(out)
        return out

    try:
        with hooked_calls(model, record):
            (fn or model)(*args, **kwargs)
    except Exception as e:
        raise TraceError(f"running the model on random inputs failed: {clean_message(e)}") from e
    return list(found.values())


def _sync(value: Any) -> None:
    """Wait for the results: copying them to NumPy blocks until the device has computed them."""
    for t in _flat(value):
        t.numpy()


def _timed(compiled: Callable[[list[Any]], Any], tensors: list[Any], warmup: int, repeat: int) -> Timing:
    _sync(compiled(tensors))  # traces and compiles: never timed
    for _ in range(warmup):
        _sync(compiled(tensors))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        _sync(compiled(tensors))
        times.append(time.perf_counter() - start)
    return Timing(statistics.median(times), min(times), max(times))


def _functions(target: Any, calls: list[tuple[tuple[Any, ...], dict[str, Any]]], variables: list[Any]) -> tuple[
        Callable[[list[Any]], Any], Callable[[list[Any]], Any], list[Any]]:  # fmt: skip
    """Plain-Python forward and forward+gradient functions of the calls' tensors (the arguments'
    other values are fixed), and those tensors."""
    import tensorflow as tf

    leaves = tf.nest.flatten(calls)
    where = [i for i, x in enumerate(leaves) if tf.is_tensor(x)]

    def forward(tensors: list[Any]) -> Any:
        filled = list(leaves)
        for i, t in zip(where, tensors):
            filled[i] = t
        return [target(*a, **k) for a, k in tf.nest.pack_sequence_as(calls, filled)]

    def backward(tensors: list[Any]) -> Any:
        floats = [t for t in tensors if t.dtype.is_floating]
        with tf.GradientTape() as tape:
            tape.watch(floats)
            outs = [o for o in _flat(forward(tensors)) if o.dtype.is_floating]
            loss = tf.add_n([tf.reduce_sum(tf.cast(o, tf.float32)) for o in outs]) if outs else None
        if loss is None:
            raise TraceError("no floating-point output to differentiate")
        grads = tape.gradient(loss, floats + list(variables))
        kept = [g.values if isinstance(g, tf.IndexedSlices) else g for g in grads if g is not None]
        return kept or [loss]

    return forward, backward, [leaves[i] for i in where]


def time_calls(target: Any, calls: list[tuple[tuple[Any, ...], dict[str, Any]]], settings: ProfileSettings,
               notes: list[str], label: str) -> tuple[Timing, Timing | None]:  # fmt: skip
    """Forward (and forward+backward) timings of ``target`` run on ``calls``; with ``jit``, a
    function XLA cannot compile is timed without it (noted)."""
    import tensorflow as tf

    variables = list(getattr(target, "trainable_variables", ()))
    forward, backward, tensors = _functions(target, calls, variables)

    def measure(python: Callable[[list[Any]], Any], what: str) -> Timing:
        if settings.jit:
            try:
                return _timed(tf.function(python, jit_compile=True), tensors, settings.warmup, settings.repeat)
            except Exception as e:
                notes.append(
                    f"{label}: {what} timed without XLA, which could not compile it ({clean_message(e)[:120]})"
                )
        return _timed(tf.function(python), tensors, settings.warmup, settings.repeat)

    fwd = measure(forward, "forward")
    bwd = None
    if settings.backward:
        try:
            bwd = measure(backward, "backward")
        except Exception as e:
            notes.append(f"{label}: no backward time ({clean_message(e)[:160]})")
    return fwd, bwd


def _peak_rss() -> int | None:
    """The process's peak resident set size so far in bytes (``ru_maxrss``: KiB on Linux, bytes on
    macOS); None where ``resource`` is missing (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


@contextmanager
def _quiet() -> Iterator[None]:
    """Python warnings off and TensorFlow's logger at ERROR (its retracing warnings: every layer is
    compiled on its own, on purpose), restored afterwards."""
    import tensorflow as tf

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _device() -> str:
    import tensorflow as tf

    return "GPU:0" if tf.config.list_logical_devices("GPU") else "CPU"


def profile_model(model: Any, report: Report, spec: InputSpec, batch_size: int | None, repeat: int, warmup: int,
                  backward: bool, jit: bool, timing: str = "traced") -> ProfileReport:  # fmt: skip
    """Time every called layer of ``model`` and the whole model (see the module's docstring)."""
    fn = model_method(model, spec.method)
    resolved = concrete_inputs(report, batch_size)
    inputs = random_inputs(resolved)
    args, kwargs = call_arguments(model, inputs, [a.name if spec.named else None for a in resolved], fn)
    graph = functional_graph(model)
    if fn is None and graph is not None:  # the inputs in the functional model's own structure
        import keras

        real = {id(t): x for t, x in zip(graph.inputs, inputs)}
        if len(real) == len(inputs):
            args, kwargs = (keras.tree.map_structure(lambda t: real[id(t)], graph._inputs_struct),), {}
    notes: list[str] = []
    if jit and timing == "traced":
        notes.append("--jit: per-layer times come from the isolated method (each layer compiled by XLA alone): "
                     "XLA fuses across layers, and its kernels are not mapped back to layers here")  # fmt: skip
        timing = "isolated"
    settings = ProfileSettings(resolved[0].shape[0] or 1 if resolved else batch_size or 1, repeat, warmup, jit,
                               backward, _device(), timing)  # fmt: skip
    before = _peak_rss()
    with _quiet():
        captured = capture(model, args, kwargs, fn)
        matched = _match(report, captured, notes)
        if timing == "traced":
            result = _traced(model, fn or model, (args, kwargs), matched, report, settings, notes)
        else:
            result = _isolated(fn or model, (args, kwargs), matched, report, inputs, settings, notes)
    after = _peak_rss()
    memory = ProcessMemory(before, after) if before is not None and after is not None else None
    return replace(result, memory=memory)


def _traced(model: Any, target: Any, call: tuple[tuple[Any, ...], dict[str, Any]], matched: list[tuple[Captured, str]],
            report: Report, settings: ProfileSettings, notes: list[str]) -> ProfileReport:  # fmt: skip
    """The traced method (:mod:`modelscope.trace.op_profile`)."""
    from modelscope.trace.op_profile import layer_timings, profile_pass

    forward, backward, tensors = _functions(target, [call], list(getattr(model, "trainable_variables", ())))
    paths = {id(entry.layer): path for entry, path in matched}
    try:
        fwd = profile_pass(model, forward, tensors, paths, report, settings, _sync)
    except Exception as e:
        raise TraceError(f"the whole model could not be profiled as one compiled call: {clean_message(e)}") from e
    bwd = None
    if settings.backward:
        try:
            bwd = profile_pass(model, backward, tensors, paths, report, settings, _sync)
        except Exception as e:
            notes.append(f"no backward times ({clean_message(e)[:160]})")
    rows = [(path, len(entry.calls), entry.output_bytes) for entry, path in matched]
    timed = {t.path: t for t in layer_timings(rows, fwd, bwd)}
    text = TRACED.format(warmup=settings.warmup, repeat=settings.repeat,
                         backward=TRACED_BACKWARD if bwd is not None else "")  # fmt: skip
    return ProfileReport(report, tuple(timed[l.path] for l in report.layers if l.path in timed), fwd.untraced,
                         bwd.untraced if bwd else None, settings, text, tuple(notes), None, None, fwd.call,
                         bwd.call if bwd else None)  # fmt: skip


def _isolated(target: Any, call: tuple[tuple[Any, ...], dict[str, Any]], matched: list[tuple[Captured, str]],
              report: Report, inputs: list[Any], settings: ProfileSettings,
              notes: list[str]) -> ProfileReport:  # fmt: skip
    """The isolated method: the whole model, then each layer alone, as one compiled call each."""
    import tensorflow as tf

    try:
        whole = time_calls(target, [call], settings, notes, "the model")
    except Exception as e:
        raise TraceError(f"the whole model could not be timed as one compiled call: {clean_message(e)}") from e
    timings = []
    for entry, path in matched:
        try:
            fwd, bwd = time_calls(entry.layer, entry.calls, settings, notes, path)
        except Exception as e:
            notes.append(f"{path}: could not be timed on its own ({clean_message(e)[:160]})")
            continue
        timings.append(LayerTiming(path, fwd, bwd, len(entry.calls), entry.output_bytes))
    empty = _timed(tf.function(lambda ts: ts), [inputs[0]], settings.warmup, settings.repeat) if inputs else None
    text = METHOD.format(jit=" (jit_compile=True, XLA)" if settings.jit else "", warmup=settings.warmup,
                         repeat=settings.repeat,
                         backward=" Backward figures time the forward and the gradient of the sum of the outputs "
                         "with respect to the inputs and trainable variables together, in one compiled call."
                         if settings.backward else "")  # fmt: skip
    return ProfileReport(report, tuple(timings), whole[0], whole[1], settings, text, tuple(notes), empty)


def _match(report: Report, captured: list[Captured], notes: list[str]) -> list[tuple[Captured, str]]:
    """Each captured layer matched to its report row (by its path of Keras names), in report order."""
    rows = keras_paths(report)
    found: list[tuple[Captured, str]] = []
    for entry in captured:
        candidates = rows.get(entry.keras_path)
        if not candidates:
            notes.append(f"{entry.keras_path}: called, but not a layer of the report; not timed")
            continue
        found.append((entry, candidates.pop(0)))
    order = {l.path: i for i, l in enumerate(report.layers)}
    return sorted(found, key=lambda m: order[m[1]])
