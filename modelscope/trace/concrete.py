"""Tracing at concrete sizes, for models whose ``call()`` needs them.

Some models run only on concrete shapes: ``tf.random.normal(shape=x.shape)`` or Python
arithmetic on ``x.shape[1]`` fails while a dimension is ``None``. When the symbolic trace fails,
such a model is traced twice more with every unknown dimension made concrete (the batch at 1 and
2, any other at 128 and 192: long enough for audio front ends, divisible by 64) — still
symbolically, without values — and, if that fails too, twice on real tensors (random floats,
zero integers; the model runs for inference, no weight is changed). The two traces are merged:
a dimension that differs between them follows an unknown one and is shown as ``None`` again, so
no size the user did not give is ever printed. Costs are kept when the batch was the only
unknown dimension (they are per sample, and the first trace runs at batch 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from modelscope.errors import TraceError
from modelscope.model.inputs import InputArg
from modelscope.model.report import CallInfo, Cost, InputInfo, OutputInfo
from modelscope.model.shapes import Shape
from modelscope.model.traced import TracedLayer, TracedModel

SIZES = ((1, 128), (2, 192))  # (batch, any other unknown dimension) in the two traces


def concrete_args(resolved: list[InputArg], run: int) -> list[InputArg]:
    """The inputs with each unknown dimension given the size of trace ``run`` (0 or 1)."""
    batch, other = SIZES[run]
    return [
        replace(a, shape=tuple((batch if i == 0 else other) if d is None else d for i, d in enumerate(a.shape)))
        for a in resolved
    ]


def trace_concrete(trace: Callable[..., TracedModel], resolved: list[InputArg], error: TraceError) -> TracedModel:
    """Trace at two concrete sizes (symbolically, then on real tensors) and merge; the symbolic
    ``error`` stands if neither works. ``trace(inputs, eager=...)`` runs one trace."""
    fallback: TraceError | None = None
    for eager in (False, True):
        try:
            first, second = (trace(concrete_args(resolved, run), eager=eager) for run in (0, 1))
            break
        except TraceError as e:
            fallback = e
    else:
        why = str(fallback).splitlines()[0] if fallback else ""
        raise TraceError(f"{error}\n(Traced at concrete sizes too, on real tensors: {why})") from None
    lines = [line for line in str(error).splitlines() if not line.startswith("Check --input-shape")]
    reason = lines[-1].strip()[:200]
    how = "on real tensors (random inputs, inference; no weight changed)" if eager else "symbolically"
    note = (f"the model needs concrete sizes (with unknown ones: {reason}); it was traced {how} at two "
            "concrete sizes, and dimensions that differ between them are shown as None")  # fmt: skip
    per_sample = all(d is not None for a in resolved for d in a.shape[1:])
    return merge(first, second, resolved, per_sample, note)


def merge_shape(a: Shape | None, b: Shape | None) -> Shape | None:
    """Dimensions equal in both traces stay; those that differ are unknown."""
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x if x == y else None for x, y in zip(a, b))


def _shapes(a: tuple[Shape | None, ...], b: tuple[Shape | None, ...]) -> tuple[Shape | None, ...]:
    if len(a) != len(b):
        return tuple(None for _ in a)
    return tuple(merge_shape(x, y) for x, y in zip(a, b))


def merge(first: TracedModel, second: TracedModel, resolved: list[InputArg], keep_costs: bool,
          note: str) -> TracedModel:  # fmt: skip
    """``first`` with every shape merged with ``second``'s and the user's own input shapes."""
    others = {t.path: t for t in second.layers}
    unknown = Cost(None, None, "depends on a dimension left unknown (traced at concrete sizes)")

    def layer(t: TracedLayer) -> TracedLayer:
        o = others.get(t.path)
        ins = _shapes(t.input_shapes, o.input_shapes) if o else tuple(None for _ in t.input_shapes)
        outs = _shapes(t.output_shapes, o.output_shapes) if o else tuple(None for _ in t.output_shapes)
        if keep_costs:
            return replace(t, input_shapes=ins, output_shapes=outs)
        return replace(t, input_shapes=ins, output_shapes=outs, cost=unknown if t.cost else None,
                       activation_bytes=None)  # fmt: skip

    calls = {(c.layer, c.index): c for c in second.calls}

    def call(c: CallInfo) -> CallInfo:
        o = calls.get((c.layer, c.index))
        if o is None:
            return replace(c, input_shapes=tuple(None for _ in c.input_shapes),
                           output_shapes=tuple(None for _ in c.output_shapes))  # fmt: skip
        return replace(c, input_shapes=_shapes(c.input_shapes, o.input_shapes),
                       output_shapes=_shapes(c.output_shapes, o.output_shapes))  # fmt: skip

    inputs = tuple(InputInfo(i.name, a.shape, i.dtype, i.consumers, i.ops_consumers)
                   for i, a in zip(first.inputs, resolved))  # fmt: skip
    outputs = tuple(
        OutputInfo(o.name, merge_shape(o.shape, p.shape) if p else None, o.dtype, o.producers)
        for o, p in zip(first.outputs, (*second.outputs, *(None for _ in first.outputs)))
    )  # fmt: skip
    return replace(
        first,
        inputs=inputs,
        outputs=outputs,
        layers=tuple(layer(t) for t in first.layers),
        calls=tuple(call(c) for c in first.calls),
        own_cost=first.own_cost if keep_costs or first.own_cost is None else unknown,
        warnings=(note, *first.warnings),
    )
