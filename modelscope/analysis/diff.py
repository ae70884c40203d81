"""What changed between two models: architecture (from two reports) and weights (from their values).

Pure NumPy and reports, no TensorFlow. Layers are matched by stable path (``model.paths``:
attribute names, Keras auto-names renumbered within each parent, so ``dense_3`` and ``dense_7``
in the same place match), then the layers left on both sides pair up by position and class.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelscope.model.display import Displayed
from modelscope.model.report import LayerInfo, Report, VariableInfo

CHUNK = 1 << 20


@dataclass(frozen=True)
class LayerChange:
    path: str  # the stable path on side B (A's for a removed layer)
    status: str  # "added" | "removed" | "changed" | "same"
    cls: tuple[str | None, str | None]
    params: tuple[int | None, int | None]
    input_shapes: tuple[Any, Any]
    output_shapes: tuple[Any, Any]
    config: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # keys whose values differ
    trainable: tuple[int | None, int | None] = (None, None)

    @property
    def what(self) -> list[str]:
        """The aspects that differ: class, params, shapes, config keys."""
        out: list[str] = []
        if self.status != "changed":
            return out
        if self.cls[0] != self.cls[1]:
            out.append("class")
        if self.params[0] != self.params[1]:
            out.append("params")
        if self.input_shapes[0] != self.input_shapes[1]:
            out.append("input")
        if self.output_shapes[0] != self.output_shapes[1]:
            out.append("output")
        return out + sorted(self.config)


@dataclass(frozen=True)
class ArchitectureDiff:
    layers: tuple[LayerChange, ...]
    totals: dict[str, tuple[int, int]]  # params, trainable, non_trainable: (A, B)

    @property
    def changed(self) -> tuple[LayerChange, ...]:
        return tuple(c for c in self.layers if c.status != "same")

    @property
    def equal(self) -> bool:
        return not self.changed and all(a == b for a, b in self.totals.values())


@dataclass(frozen=True)
class Entry:
    """What a comparison sees of one layer, from a report or from a snapshot."""

    path: str  # stable path
    cls: str
    depth: int
    params: int  # sublayers included
    own: int  # held by the layer itself
    trainable: int
    input_shapes: tuple[Any, ...]
    output_shapes: tuple[Any, ...]
    config: dict[str, Any] = field(default_factory=dict)


def report_entries(report: Report) -> list[Entry]:
    return [
        Entry(l.path, l.cls, l.depth, l.params, _own_params(report, l), l.trainable, l.input_shapes,
              l.output_shapes, l.config)
        for l in report.layers
    ]  # fmt: skip


def _own_params(report: Report, layer: LayerInfo) -> int:
    """Parameters a layer holds itself: a container's total is its children's, already shown."""
    return layer.params - sum(c.params for c in report.children(layer.path))


def compare(before: list[Entry], after: list[Entry], *, rename: bool, own: bool, split: bool) -> list[LayerChange]:
    """The one differ, used by ``modelscope diff`` and by snapshots alike: layers paired by stable
    path (and with ``rename``, leftovers of one class at one depth paired in order), in ``after``'s
    order, removed ones last. A pair is changed when the class, the parameter count (with ``own``,
    only what the layer holds itself: a container changed through its children is not listed),
    the trainable split (with ``split``), the shapes or the settings differ."""
    by_path = {e.path: e for e in before}
    in_after = {e.path for e in after}
    spare = [e for e in before if e.path not in in_after]
    pairs: list[tuple[Entry | None, Entry | None]] = []
    for eb in after:
        ea = by_path.get(eb.path)
        if ea is None and rename:
            ea = next((e for e in spare if e.cls == eb.cls and e.depth == eb.depth), None)
            if ea is not None:
                spare.remove(ea)
        pairs.append((ea, eb))
    pairs += [(ea, None) for ea in spare]
    return [_change(ea, eb, own, split) for ea, eb in pairs]


def _change(ea: Entry | None, eb: Entry | None, own: bool, split: bool) -> LayerChange:
    config: dict[str, tuple[Any, Any]] = {}
    if ea and eb and ea.config and eb.config:  # (a report saved before configs were recorded has none)
        for key in sorted(set(ea.config) | set(eb.config)):
            if ea.config.get(key) != eb.config.get(key):
                config[key] = (ea.config.get(key), eb.config.get(key))
    if ea is None or eb is None:
        status = "added" if ea is None else "removed"
    else:
        size_a, size_b = (ea.own, eb.own) if own else (ea.params, eb.params)
        moved = split and (eb.trainable - ea.trainable) != (eb.params - ea.params)
        differs = (ea.cls != eb.cls or size_a != size_b or bool(config) or moved
                   or ea.input_shapes != eb.input_shapes or ea.output_shapes != eb.output_shapes)  # fmt: skip
        status = "changed" if differs else "same"
    path = eb.path if eb is not None else ea.path if ea is not None else ""
    return LayerChange(
        path, status, (ea.cls if ea else None, eb.cls if eb else None),
        (ea.params if ea else None, eb.params if eb else None),
        (ea.input_shapes if ea else None, eb.input_shapes if eb else None),
        (ea.output_shapes if ea else None, eb.output_shapes if eb else None),
        config, (ea.trainable if ea else None, eb.trainable if eb else None),
    )  # fmt: skip


def architecture_diff(a: Report, b: Report) -> ArchitectureDiff:
    """Layers added, removed and changed (class, own parameters, shapes, settings), and the totals.
    A container whose parameter count changed only through its sublayers is not listed itself."""
    changes = compare(report_entries(a), report_entries(b), rename=True, own=True, split=False)
    ta, tb = a.totals, b.totals
    totals = {"params": (ta.params, tb.params), "trainable": (ta.trainable, tb.trainable),
              "non_trainable": (ta.non_trainable, tb.non_trainable)}  # fmt: skip
    return ArchitectureDiff(tuple(changes), totals)


@dataclass(frozen=True, repr=False)
class Comparison(Displayed):
    """What ``modelscope diff`` found: the two sources as named, and what differs.
    In a notebook it shows as a coloured table (HTML); ``print`` prints the text diff."""

    a: str
    b: str
    architecture: ArchitectureDiff | None
    weights: WeightsDiff | None
    notes: tuple[str, ...] = ()  # each side's report warnings ("A: read without the model's code ...")

    def __iter__(self) -> Iterator[Any]:
        """``architecture, weights = comparison``."""
        return iter((self.architecture, self.weights))


# -- weights -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariableChange:
    path: str  # stable layer path + variable name
    layer: str
    shape: tuple[int, ...]
    relative_l2: float | None  # ||B - A|| / ||A||; None when A is all zeros (see abs_l2)
    abs_l2: float
    max_abs: float
    changed: float  # fraction of entries that differ
    new_nan_inf: bool  # B has NaN/Inf where A had none


@dataclass(frozen=True)
class WeightsDiff:
    variables: tuple[VariableChange, ...]
    layers: tuple[tuple[str, float], ...]  # layer, relative L2 change over its variables; largest first
    unmatched: tuple[str, ...] = ()  # variables only one side has, or with different shapes


def _compare(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, int, bool]:
    """Σ(b-a)², Σa², max|b-a|, entries changed, NaN/Inf new in b; in float64 blocks."""
    fx, fy = x.reshape(-1), y.reshape(-1)
    sq = base = peak = 0.0
    changed = 0
    new_bad = False
    for start in range(0, fx.size, CHUNK):
        a = fx[start : start + CHUNK].astype(np.float64)
        b = fy[start : start + CHUNK].astype(np.float64)
        bad_a, bad_b = ~np.isfinite(a), ~np.isfinite(b)
        new_bad |= bool((bad_b & ~bad_a).any())
        ok = ~(bad_a | bad_b)
        d = b[ok] - a[ok]
        sq += float(d @ d)
        base += float(a[ok] @ a[ok])
        peak = max(peak, float(np.abs(d).max())) if d.size else peak
        changed += int(np.count_nonzero(a != b)) - int(np.count_nonzero(bad_a & bad_b & np.isnan(a) & np.isnan(b)))
    return sq, base, peak, changed, new_bad


def weights_diff(a: Report, b: Report, values_a: Iterable[tuple[VariableInfo, np.ndarray]],
                 values_b: Iterable[tuple[VariableInfo, np.ndarray]]) -> WeightsDiff:  # fmt: skip
    """Per variable and per layer, how far B's weights moved from A's. B's values are read one at a
    time; A's are kept only for the variables B has (by stable path, else by position with equal
    shapes). ``a`` and ``b`` are the reports the values belong to."""
    held: dict[str, np.ndarray] = {}
    order_a: list[str] = []
    for info, value in values_a:
        held[info.path] = value
        order_a.append(info.path)
    changes: list[VariableChange] = []
    unmatched: list[str] = []
    per_layer: dict[str, list[float]] = {}
    for i, (info, value) in enumerate(values_b):
        key = info.path
        old = held.pop(key, None)
        if old is None and i < len(order_a) and order_a[i] in held and held[order_a[i]].shape == value.shape:
            old = held.pop(order_a[i])  # auto-named differently: same position, same shape
        if old is None or old.shape != value.shape:
            unmatched.append(key)
            continue
        sq, base, peak, n_changed, new_bad = _compare(old, value)
        layer = key.rpartition("/")[0]
        changes.append(VariableChange(key, layer, tuple(value.shape), math.sqrt(sq / base) if base else None,
                                      math.sqrt(sq), peak, n_changed / max(value.size, 1), new_bad))  # fmt: skip
        acc = per_layer.setdefault(layer, [0.0, 0.0])
        acc[0], acc[1] = acc[0] + sq, acc[1] + base
    unmatched += list(held)
    layers = sorted(((layer, math.sqrt(s / base) if base else (math.inf if s else 0.0))
                     for layer, (s, base) in per_layer.items()), key=lambda kv: (-kv[1], kv[0]))  # fmt: skip
    return WeightsDiff(tuple(changes), tuple(layers), tuple(unmatched))
