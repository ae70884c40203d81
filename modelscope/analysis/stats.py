"""Weight statistics and health flags (NumPy, plus optional compiled passes; no TensorFlow).

Every figure is computed in float64, whatever the variable's dtype, over blocks of ``CHUNK``
elements, so only one variable is ever held, plus one float64 block. A finite float32/float64
variable (the usual case) takes two compiled passes (``modelscope/analysis/_scan.c``, when the
install could compile it; see ``_compiled_pass``): extremes and shifted sums, then exact
histogram counts compared in the variable's own dtype (with each edge, or for many bins with the
two edges around an estimated bin); two threads take a half each. Without the compiled module,
NumPy's min/max and one fused pass do the same. Any other variable takes two passes over float64
blocks: moments merged block by block with Chan's formula (as exact as NumPy's two-pass
variance), extremes, zeros and non-finite counts, then the histogram. Dead output channels of
Dense/Conv kernels are counted in one more pass, only when the kernel has enough zeros for a
whole channel.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import numpy as np

from modelscope.analysis.health import KERNEL_OUT_AXIS, RULES, Flag, Thresholds, flags_for
from modelscope.analysis.spectral import Spectral, spectral
from modelscope.model.display import Displayed
from modelscope.model.report import Report, VariableInfo

__all__ = ["RULES", "Flag", "Thresholds", "compute_stats", "variable_stats"]  # flags live in health.py
DEFAULT_THRESHOLDS = Thresholds()

try:  # the compiled one-pass scan (modelscope/analysis/_scan.c); NumPy computes the same without it
    from modelscope.analysis import _scan as _native  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the install having a C compiler
    _native = None

T = TypeVar("T")
CHUNK = 1 << 17  # elements per block: 1 MiB of float64, cache-resident


@dataclass(frozen=True)
class Histogram:
    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Moments:
    """Figures over a set of values; None where there is no finite value."""

    count: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    abs_mean: float | None
    l2: float
    zeros: float  # fraction of entries exactly 0
    nan: int
    inf: int


@dataclass(frozen=True)
class VariableStats:
    info: VariableInfo
    moments: Moments
    histogram: Histogram
    dead_units: int | None = None  # for Dense/Conv kernels


@dataclass(frozen=True)
class LayerStats:
    path: str
    cls: str
    moments: Moments
    spectral: Spectral | None = None
    dead_units: int | None = None


@dataclass(frozen=True, repr=False)
class StatsReport(Displayed):
    report: Report
    variables: tuple[VariableStats, ...]
    layers: tuple[LayerStats, ...]
    flags: tuple[Flag, ...]
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    bins: int = 16


# -- one variable ------------------------------------------------------------------------------


@dataclass
class _Acc:
    """Running figures over finite values (Chan et al. for mean and M2)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    sq: float = 0.0
    abs_sum: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf
    zeros: int = 0
    nan: int = 0
    inf: int = 0
    total: int = 0

    def add_block(self, x: np.ndarray) -> None:
        self.total += x.size
        finite = np.isfinite(x)
        if not finite.all():
            self.nan += int(np.isnan(x).sum())
            self.inf += int(np.isinf(x).sum())
            x = x[finite]
        n = x.size
        if n == 0:
            return
        block_mean = float(x.sum()) / n
        d = x - block_mean
        block_m2 = float(d @ d)
        self.sq += float(x @ x)
        self.abs_sum += float(np.abs(x).sum())
        self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))
        self.zeros += n - int(np.count_nonzero(x))
        self.merge(n, block_mean, block_m2)

    def merge(self, n: int, mean: float, m2: float) -> None:
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total

    def combine(self, other: _Acc) -> None:
        if other.n:
            self.merge(other.n, other.mean, other.m2)
        self.sq += other.sq
        self.abs_sum += other.abs_sum
        self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)
        self.zeros, self.nan, self.inf = self.zeros + other.zeros, self.nan + other.nan, self.inf + other.inf
        self.total += other.total

    def moments(self) -> Moments:
        if self.n == 0:
            return Moments(self.total, None, None, None, None, None, 0.0, 0.0, self.nan, self.inf)
        return Moments(
            count=self.total, mean=self.mean, std=math.sqrt(self.m2 / self.n), min=self.lo, max=self.hi,
            abs_mean=self.abs_sum / self.n, l2=math.sqrt(self.sq), zeros=self.zeros / self.total if self.total else 0.0,
            nan=self.nan, inf=self.inf,
        )  # fmt: skip


def _blocks(flat: np.ndarray, buffer: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, flat.size, CHUNK):
        part = flat[start : start + CHUNK]
        out = buffer[: part.size]
        np.copyto(out, part, casting="unsafe")
        yield out


def _edges(lo: float, hi: float, bins: int) -> np.ndarray:
    return np.linspace(lo, hi, bins + 1)


def _thresholds(edges: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Interior edges as values of ``dtype`` that compare exactly as the float64 edges do:
    for x of that dtype, ``x >= t`` exactly when ``x >= edge``."""
    inner = edges[1:-1]
    t = inner.astype(dtype)
    low = t.astype(np.float64) < inner
    t[low] = np.nextafter(t[low], np.inf, dtype=dtype)
    return t


class _BinCounter:
    """Histogram counts by np.histogram's rule (bins are [e_i, e_i+1), the last one closed): how
    many values are at least each interior edge, compared in the values' own dtype with limits that
    compare exactly as the float64 edges do (``_thresholds``). NumPy compares each block with each
    limit (cheaper than binning + bincount for the few bins a histogram has); the compiled passes
    count the same (``_compiled_pass``)."""

    def __init__(self, lo: float, hi: float, bins: int, dtype: np.dtype) -> None:
        self.edges = _edges(lo, hi, bins)
        self.limits = _thresholds(self.edges, dtype)
        self.at_least = np.zeros(bins - 1, dtype=np.int64)  # how many x >= each interior edge
        self.n = 0

    def add(self, x: np.ndarray, scratch: np.ndarray | None = None) -> None:
        """Count a block by comparisons; ``scratch`` (bool, at least as long) saves an allocation per edge."""
        self.n += x.size
        out = scratch[: x.size] if scratch is not None else None
        for i, t in enumerate(self.limits):
            self.at_least[i] += np.count_nonzero(np.greater_equal(x, t, out=out))

    def copy(self) -> _BinCounter:
        """An empty counter with the same edges."""
        twin = object.__new__(_BinCounter)
        twin.__dict__.update(self.__dict__)
        twin.at_least, twin.n = np.zeros_like(self.at_least), 0
        return twin

    def merge(self, *others: _BinCounter | None) -> None:
        for other in others:
            if other is not None:
                self.at_least += other.at_least
                self.n += other.n

    def histogram(self) -> Histogram:
        cumulative = [self.n, *self.at_least.tolist(), 0]
        counts = tuple(int(cumulative[i] - cumulative[i + 1]) for i in range(len(cumulative) - 1))
        return Histogram(tuple(float(e) for e in self.edges), counts)


def _histogram(flat: np.ndarray, acc: _Acc, bins: int, buffer: np.ndarray) -> Histogram:
    """The general path's histogram: a second pass over float64 blocks, non-finite values left out."""
    if acc.n == 0:
        return Histogram((), ())
    if acc.lo == acc.hi:
        return Histogram((acc.lo, acc.hi), (acc.n,))
    counter = _BinCounter(acc.lo, acc.hi, bins, np.dtype(np.float64))
    for x in _blocks(flat, buffer):
        counter.add(x[np.isfinite(x)] if acc.nan or acc.inf else x)
    return counter.histogram()


def _scan(part: np.ndarray, shift: float, counter: _BinCounter | None) -> tuple[float, float, float, int]:
    """Σy, Σy², Σ|x| and zeros of a finite variable (y = x - shift), feeding the histogram counter
    (NumPy, in blocks: the path without the compiled module)."""
    size = min(CHUNK, part.size)
    y_buf = np.empty(size, dtype=np.float64)
    abs_buf = np.empty(size, dtype=part.dtype)
    cmp_buf = np.empty(size, dtype=bool)
    sum_y = sum_yy = abs_sum = 0.0
    zeros = 0
    for start in range(0, part.size, CHUNK):
        x = part[start : start + CHUNK]
        m = x.size
        y = np.subtract(x, shift, out=y_buf[:m], dtype=np.float64)
        sum_y += float(y.sum())
        sum_yy += float(np.einsum("i,i->", y, y))  # not BLAS: its threads would fight ours
        abs_sum += float(np.abs(x, out=abs_buf[:m]).sum(dtype=np.float64))
        zeros += int(np.count_nonzero(np.equal(x, 0, out=cmp_buf[:m])))
        if counter is not None:
            counter.add(x, cmp_buf)
    return sum_y, sum_yy, abs_sum, zeros


PARALLEL_MIN = 1 << 22  # elements from which a variable is scanned by two threads
FEW_EDGES = 32  # up to this many interior edges, the compiled histogram compares each value with each;
# past it, each value's bin is estimated from the evenly spaced edges and checked


def _halves(flat: np.ndarray) -> list[np.ndarray]:
    """The variable in one part, or two (split on a block boundary) for two threads."""
    if flat.size < PARALLEL_MIN or (os.cpu_count() or 1) < 2:
        return [flat]
    half = (flat.size // 2 // CHUNK) * CHUNK
    return [flat[:half], flat[half:]]


def _each(calls: list[Callable[[], T]]) -> list[T]:
    """Each call's result, in threads when there are two (the compiled passes and NumPy's loops
    release the GIL)."""
    if len(calls) == 1:
        return [calls[0]()]
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def _compiled_pass(flat: np.ndarray, bins: int, shift: float) -> tuple[_Acc, _BinCounter | None] | None:
    """Two compiled passes: extremes and sums (``summary``), then exact counts above each interior
    edge (``at_least`` or ``binned``, compared in the variable's dtype). None when a value is not finite."""
    assert _native is not None
    parts = _halves(flat)
    summaries = _each([partial(_native.summary, part, shift) for part in parts])
    if any(found[6] for found in summaries):  # NaN or Inf: the general path counts them
        return None
    lo, hi = min(found[0] for found in summaries), max(found[1] for found in summaries)
    sum_y, sum_yy, abs_sum, zeros = (sum(found[i] for found in summaries) for i in range(2, 6))
    counter = _BinCounter(lo, hi, bins, flat.dtype) if lo < hi else None
    if counter is not None:
        counts = _each([partial(_count_at_least, part, counter.edges, counter.limits) for part in parts])
        counter.at_least, counter.n = np.sum(counts, axis=0), flat.size
    return _sums_acc(flat.size, shift, lo, hi, sum_y, sum_yy, abs_sum, int(zeros)), counter


def _count_at_least(part: np.ndarray, edges: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """How many values of ``part`` are >= each limit: compared with each one (a few), or counted
    per bin (many: a bin estimated from the evenly spaced edges, checked against the limits) and
    summed from the top."""
    assert _native is not None
    if limits.size <= FEW_EDGES:
        counts = np.zeros(limits.size, dtype=np.int64)
        _native.at_least(part, limits, counts)
        return counts
    per_bin = np.zeros(limits.size + 1, dtype=np.int64)
    _native.binned(part, limits, per_bin, float(edges[0]), (len(edges) - 1) / float(edges[-1] - edges[0]))
    return np.cumsum(per_bin[::-1])[::-1][1:]


def _sums_acc(n: int, shift: float, lo: float, hi: float, sum_y: float, sum_yy: float, abs_sum: float,
              zeros: int) -> _Acc:  # fmt: skip
    """The figures from sums of y = x - shift: var = (Σy² - (Σy)²/n) / n, Σx² = Σ(y + K)²."""
    acc = _Acc(n=n, mean=shift + sum_y / n, m2=max(sum_yy - sum_y * sum_y / n, 0.0), abs_sum=abs_sum, lo=lo,
               hi=hi, zeros=zeros, total=n)  # fmt: skip
    acc.sq = sum_yy + 2 * shift * sum_y + n * shift * shift
    return acc


def _fast_pass(flat: np.ndarray, bins: int) -> tuple[_Acc, Histogram] | None:
    """A finite float32/float64 variable without float64 blocks; None when the general path is needed.

    Extremes come from the values as they are (exact); sums are taken in float64 of
    ``y = x - K`` for a shift K near the mean, so the variance needs no second pass and loses no
    precision. Compiled: ``_compiled_pass``; without the compiled module, NumPy's min/max, then one
    pass in blocks (``_scan``) for the sums and the histogram.
    """
    if flat.dtype not in (np.float32, np.float64) or flat.size == 0:
        return None
    flat = flat.view(np.dtype(flat.dtype.char))  # '<f4' (a mapped file's): the plain 'f' C expects
    n = flat.size
    shift = float(flat[:: max(1, n // 4096)].mean(dtype=np.float64))
    if _native is not None:
        found = _compiled_pass(flat, bins, shift)
        if found is None:
            return None
        acc, counter = found
    else:
        lo, hi = float(flat.min()), float(flat.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):  # NaN propagates into min/max; Inf shows there
            return None
        counter = _BinCounter(lo, hi, bins, flat.dtype) if lo < hi else None
        parts = _halves(flat)
        counters = [counter.copy() if counter else None for _ in parts] if len(parts) > 1 else [counter]
        sums = _each([partial(_scan, part, shift, c) for part, c in zip(parts, counters)])
        if len(parts) > 1 and counter is not None:
            counter.merge(*counters)
        sum_y, sum_yy, abs_sum = (sum(found[i] for found in sums) for i in range(3))
        acc = _sums_acc(n, shift, lo, hi, sum_y, sum_yy, abs_sum, sum(found[3] for found in sums))
    return acc, counter.histogram() if counter is not None else Histogram((acc.lo, acc.hi), (n,))


def _dead_units(kernel: np.ndarray, out_axis: int, tolerance: float) -> int:
    """Output channels whose weights are all within ``tolerance`` of 0, in blocks of about ``CHUNK``
    elements of the kernel seen as (before, channels, after): no copy of it, whatever the axis."""
    axis = out_axis % kernel.ndim
    channels = kernel.shape[axis]
    w = kernel.reshape(math.prod(kernel.shape[:axis]), channels, math.prod(kernel.shape[axis + 1 :]))
    alive = np.zeros(channels, dtype=bool)
    rows = max(1, CHUNK // max(channels * w.shape[2], 1))
    for start in range(0, w.shape[0], rows):
        alive |= (np.abs(w[start : start + rows]) > tolerance).any(axis=(0, 2))
    return int((~alive).sum())


def variable_stats(info: VariableInfo, values: np.ndarray, layer_cls: str, bins: int = 16,
                   thresholds: Thresholds = DEFAULT_THRESHOLDS) -> tuple[VariableStats, _Acc]:  # fmt: skip
    flat = values.reshape(-1)
    fast = _fast_pass(flat, bins)
    if fast is not None:
        acc, histogram = fast
    else:  # NaN/Inf, integers, booleans, float16/bfloat16: float64 blocks, two passes
        buffer = np.empty(min(CHUNK, max(flat.size, 1)), dtype=np.float64)
        acc = _Acc()
        for x in _blocks(flat, buffer):
            acc.add_block(x)
        histogram = _histogram(flat, acc, bins, buffer)
    dead = None
    out_axis = KERNEL_OUT_AXIS.get(layer_cls)
    if out_axis is not None and info.path.endswith("/kernel") and values.ndim >= 2:
        rows = values.size // values.shape[out_axis]
        enough_zeros = acc.zeros >= rows or thresholds.dead > 0
        dead = _dead_units(values, out_axis, thresholds.dead) if enough_zeros else 0
    return VariableStats(info, acc.moments(), histogram, dead), acc


# -- the whole model ---------------------------------------------------------------------------


def compute_stats(
    report: Report,
    values: Iterable[tuple[VariableInfo, np.ndarray]],
    *,
    bins: int = 16,
    spectral_metrics: bool = True,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> StatsReport:
    """Statistics for each variable (given one at a time, in any order: the figures come out in the
    report's order), per owning layer, and health flags.

    Memory: the variable being read (``values`` should drop its own reference before reading the
    next, as the file readers do) plus blocks of ``CHUNK`` elements; no figure copies a variable
    (spectral figures of a kernel that is not float32/float64 convert it block by block too)."""
    classes = {layer.path: layer.cls for layer in report.layers}
    rank = {info.path: i for i, info in enumerate(report.variables)}
    found: list[tuple[int, VariableStats, list[Flag], _Acc]] = []
    spectra: dict[str, Spectral | None] = {}
    dead: dict[str, int] = {}
    for info, array in values:
        cls = classes.get(info.layer, report.model.cls)
        with np.errstate(all="ignore"), warnings.catch_warnings():  # odd values (1e308, complex) are figures,
            warnings.simplefilter("ignore")  # not warnings: an overflow shows as a missing (null) figure
            stat, acc = variable_stats(info, array, cls, bins, thresholds)
        found.append((rank.get(info.path, len(rank) + len(found)), stat, flags_for(stat, cls, thresholds), acc))
        if stat.dead_units is not None:
            dead[info.layer] = stat.dead_units
            if spectral_metrics and not (stat.moments.nan or stat.moments.inf):
                spectra[info.layer] = spectral(array, stat.moments.l2**2)
        del array  # before the next value is read: only one variable is held at a time
    found.sort(key=lambda item: item[0])
    by_layer: dict[str, _Acc] = {}
    for _, stat, _, acc in found:  # in the report's order, whatever order the values came in
        by_layer.setdefault(stat.info.layer, _Acc()).combine(acc)
    layers = tuple(
        LayerStats(path, classes.get(path, report.model.cls), acc.moments(), spectra.get(path), dead.get(path))
        for path, acc in by_layer.items()
    )
    per_var = tuple(stat for _, stat, _, _ in found)
    flags = tuple(flag for _, _, flagged, _ in found for flag in flagged)
    return StatsReport(report, per_var, layers, flags, thresholds, bins)
