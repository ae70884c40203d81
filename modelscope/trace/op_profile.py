"""The traced method: per-layer times taken from the ops of the whole model's compiled call.

1. The whole model runs as one ``tf.function``, traced once with the layer hooks of
   :func:`~modelscope.trace.op_owners.trace_owners` on (which layer's call created each graph op);
   its first call (instantiation, where Grappler fuses) collects the optimised graph.
2. ``warmup`` untimed calls; ``repeat`` untraced timed calls (half before, half after the
   profiled ones, so a change of load on the machine shows in both): their median is the whole
   model's time, what a user's own timing of the compiled call sees.
3. ``repeat`` calls under TensorFlow's host profiler (:mod:`~modelscope.trace.op_times`): every
   op the executor ran, mapped back to its layer (:class:`~modelscope.trace.op_owners.Owners`),
   each instant shared among the ops running then. Per call: a layer's *self* time is the time of
   its own ops; its time in the table adds its sublayers' (the report's tree). Figures are means
   over the middle half of the profiled calls by wall time (the same calls for every figure), so
   the top-level layers + unattributed ops + runtime overhead = the traced call, exactly.
4. ``backward``: the same for one compiled call computing the forward and the gradient of the sum
   of the outputs with respect to the floating-point inputs and the trainable variables; gradient
   ops (``gradient_tape/<forward op>/...``) go to the layer of the forward op they differentiate.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelscope.model.profile import LayerTiming, ProfileSettings, Timing, TracedCall
from modelscope.model.report import Report
from modelscope.trace.op_owners import MODEL, Owners, instantiate, trace_owners
from modelscope.trace.op_times import CallSplit, middle_half, profile_events, split_calls

TOP_UNATTRIBUTED = 5  # the largest unattributed ops kept in the profile


@dataclass(frozen=True)
class PassTimes:
    """One compiled call profiled: untraced timing, the traced call's account, per-row times."""

    untraced: Timing
    call: TracedCall
    total: dict[str, Timing]  # row path -> its ops' and its sublayers' time (mean, median, min, max)
    own: dict[str, float]  # row path -> mean time of its own ops


def _stats(values: list[float]) -> Timing:
    return Timing(statistics.median(values), min(values), max(values), statistics.fmean(values))


def _timed_calls(function: Callable[[list[Any]], Any], tensors: list[Any], sync: Callable[[Any], None],
                 count: int, into: list[float]) -> None:  # fmt: skip
    for _ in range(count):
        start = time.perf_counter()
        sync(function(tensors))
        into.append(time.perf_counter() - start)


def profile_pass(model: Any, python: Callable[[list[Any]], Any], tensors: list[Any], paths: dict[int, str],
                 report: Report, settings: ProfileSettings, sync: Callable[[Any], None]) -> PassTimes:  # fmt: skip
    """Steps 1-3 of the module's docstring for one Python function of the input tensors."""
    import tensorflow as tf

    function = tf.function(python)
    concrete, owner = trace_owners(model, function, tensors, paths)
    owners = Owners(owner, concrete.graph, instantiate(function, tensors, sync))
    for _ in range(settings.warmup):
        sync(function(tensors))
    untraced: list[float] = []
    _timed_calls(function, tensors, sync, settings.repeat - settings.repeat // 2, untraced)

    def profiled() -> None:
        for _ in range(settings.repeat):
            sync(function(tensors))

    calls, ops = profile_events(profiled)
    _timed_calls(function, tensors, sync, settings.repeat // 2, untraced)
    if not calls or not ops:
        raise RuntimeError(f"the profiler recorded {len(calls)} call(s) and {len(ops)} op(s)")

    def key(name: str, kind: str) -> str:
        path, _ = owners(name, kind)
        return path if path is not None else f"?{name}:{kind}"

    kept = middle_half(split_calls(calls, ops, key))
    return _account(kept, len(calls), report, set(paths.values()), _stats(untraced))


def _account(kept: list[CallSplit], profiled: int, report: Report, rows: set[str], untraced: Timing) -> PassTimes:
    """Means over the kept calls: each row's own and total (with its sublayers') time, the rest."""
    lineage = {path: _lineage(report, path, rows) for path in rows}
    totals: dict[str, list[float]] = {path: [] for path in rows}
    own: dict[str, float] = dict.fromkeys(rows, 0.0)
    stray: dict[str, float] = {}
    for split in kept:
        per_call = dict.fromkeys(rows, 0.0)
        for k, seconds in split.shares.items():
            if k in rows:
                own[k] += seconds
                for holder in lineage[k]:
                    per_call[holder] += seconds
            else:
                label = "(the model's own ops)" if k == MODEL else k.lstrip("?")
                stray[label] = stray.get(label, 0.0) + seconds
        for path, seconds in per_call.items():
            totals[path].append(seconds)
    n = len(kept)
    layers = sum(own.values()) / n
    unattributed = sum(stray.values()) / n
    ranked = sorted(stray.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_UNATTRIBUTED]
    walls = [s.wall for s in kept]
    call = TracedCall(_stats(walls), layers, unattributed, statistics.fmean(s.wall - s.busy for s in kept),
                      statistics.fmean(s.busy for s in kept), statistics.fmean(s.raw for s in kept), n, profiled,
                      tuple((k, v / n) for k, v in ranked))  # fmt: skip
    return PassTimes(untraced, call, {p: _stats(v) for p, v in totals.items()}, {p: v / n for p, v in own.items()})


def _lineage(report: Report, path: str, rows: set[str]) -> list[str]:
    """``path`` and its ancestors that are timed rows: the rows whose total its own time is part of."""
    out = [path]
    parent = report.layer(path).parent
    while parent:
        if parent in rows:
            out.append(parent)
        parent = report.layer(parent).parent
    return out


def layer_timings(matched: list[tuple[str, int, int]], forward: PassTimes,
                  backward: PassTimes | None) -> list[LayerTiming]:  # fmt: skip
    """(row path, calls, output bytes) -> its LayerTiming from the profiled pass(es)."""
    out = []
    for path, calls, nbytes in matched:
        back, own = (backward.total[path], backward.own[path]) if backward else (None, None)
        out.append(LayerTiming(path, forward.total[path], back, calls, nbytes, forward.own[path], own))
    return out
