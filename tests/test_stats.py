"""Weight statistics against NumPy (no TensorFlow), and the renderers' stable formats."""

from __future__ import annotations

import json
import re

import ml_dtypes
import numpy as np
import pytest

from modelscope.analysis import stats
from modelscope.analysis.spectral import spectral
from modelscope.analysis.stats import CHUNK, PARALLEL_MIN, Thresholds, compute_stats, variable_stats
from modelscope.model.report import VariableInfo
from modelscope.model.traced import build_report
from modelscope.render.stats import CSV_COLUMNS, render_stats_csv, render_stats_json, render_stats_table, sparkline

from .handmade import residual_model


def _info(path: str, arr: np.ndarray) -> VariableInfo:
    return VariableInfo(path, path.rpartition("/")[0], arr.shape, str(arr.dtype), True)


def _expected(arr: np.ndarray) -> dict[str, float]:
    x = np.asarray(arr, dtype=np.float64).ravel()
    finite = x[np.isfinite(x)]
    return {"mean": finite.mean(), "std": finite.std(), "min": finite.min(), "max": finite.max(),
            "abs_mean": np.abs(finite).mean(), "l2": np.sqrt(finite @ finite)}  # fmt: skip


RNG = np.random.default_rng(7)
CASES = {
    "float32 normal, several blocks": RNG.standard_normal(3 * CHUNK + 11).astype(np.float32),
    "float64 around 1 with tiny spread": 1 + 1e-7 * RNG.standard_normal(5000),
    "float16": RNG.standard_normal((64, 33)).astype(np.float16),
    "bfloat16": RNG.standard_normal((40, 40)).astype(ml_dtypes.bfloat16),
    "int32": RNG.integers(-1000, 1000, (3, 500)).astype(np.int32),
    "bool": RNG.random(999) > 0.3,
    "float32, two threads": RNG.standard_normal(PARALLEL_MIN + 5).astype(np.float32),
    "float32, extremes and a zero in the tail": np.concatenate(  # own generator: RNG's draws stay as they were
        [np.random.default_rng(8).standard_normal(1021), [-9.0, 0.0, 9.0]]
    ).astype(np.float32),  # fmt: skip
}


@pytest.fixture(params=["native", "numpy"])
def scan_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the compiled scan and again with NumPy alone: both must give the same figures."""
    if request.param == "native" and stats._native is None:
        pytest.skip("modelscope.analysis._scan was not built (no C compiler at install time)")
    if request.param == "numpy":
        monkeypatch.setattr(stats, "_native", None)
    return request.param


@pytest.mark.parametrize("name", sorted(CASES))
def test_figures_agree_with_numpy_in_float64(name: str, scan_path: str) -> None:
    arr = CASES[name]
    stat, _ = variable_stats(_info("layer/w", arr), arr, "Other")
    m, want = stat.moments, _expected(arr)
    scale = max(want["std"], 1e-300)
    assert m.mean == pytest.approx(want["mean"], rel=1e-12, abs=1e-12 * scale)
    assert m.std == pytest.approx(want["std"], rel=1e-9)  # the tiny-spread case loses ~1e-10 to rounding
    for key in ("min", "max", "abs_mean", "l2"):
        assert getattr(m, key) == pytest.approx(want[key], rel=1e-12), key
    x = np.asarray(arr, dtype=np.float64).ravel()
    assert m.zeros == np.count_nonzero(x == 0) / x.size
    counts, edges = np.histogram(x, bins=16)
    assert stat.histogram.counts == tuple(counts) and np.allclose(stat.histogram.edges, edges, rtol=0, atol=0)


@pytest.mark.parametrize("bins", [16, 40, 200])  # compared with each edge; past FEW_EDGES estimated + checked
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_histogram_is_exact_at_the_edges(dtype: type, bins: int, scan_path: str) -> None:
    """Values on each edge and one ulp either side land in np.histogram's bins on every path."""
    assert (bins - 1 <= stats.FEW_EDGES) == (bins == 16)
    lo, hi = dtype(-0.3), dtype(0.7)
    edges = np.linspace(float(lo), float(hi), bins + 1)
    near = edges.astype(dtype)
    values = np.concatenate([near, np.nextafter(near, dtype(-1)), np.nextafter(near, dtype(1)), [lo, hi]])
    values = np.clip(values, lo, hi).astype(dtype)
    arr = np.tile(values, 3)
    stat, _ = variable_stats(_info("layer/w", arr), arr, "Other", bins=bins)
    assert stat.histogram.counts == tuple(np.histogram(arr.astype(np.float64), edges)[0])


def test_planted_nan_inf_and_constants() -> None:
    arr = np.full((10, 10), 0.5, dtype=np.float32)
    arr[0, 0], arr[1, 1], arr[2, 2] = np.nan, np.inf, -np.inf
    stat, _ = variable_stats(_info("l/kernel", arr), arr, "Dense")
    m = stat.moments
    assert (m.count, m.nan, m.inf) == (100, 1, 2)
    assert (m.mean, m.std, m.min, m.max) == (0.5, 0.0, 0.5, 0.5)
    assert stat.histogram.counts == (97,)
    empty = np.array([np.nan, np.nan], dtype=np.float32)
    assert variable_stats(_info("l/b", empty), empty, "Other")[0].moments.mean is None


def test_zeroed_output_channel_counts_as_dead() -> None:
    kernel = RNG.standard_normal((3, 3, 4, 6)).astype(np.float32)
    kernel[..., 2] = 0
    stat, _ = variable_stats(_info("conv/kernel", kernel), kernel, "Conv2D")
    assert stat.dead_units == 1
    transpose = np.moveaxis(kernel, -1, -2).copy()  # Conv2DTranspose keeps output channels on axis -2
    assert variable_stats(_info("convt/kernel", transpose), transpose, "Conv2DTranspose")[0].dead_units == 1


def test_spectral_figures_match_numpy_svd() -> None:
    w = RNG.standard_normal((3, 3, 8, 16))
    s = np.linalg.svd(w.reshape(-1, 16), compute_uv=False)
    got = spectral(w, float((w**2).sum()))
    assert got.method == "exact-gram"
    assert got.spectral_norm == pytest.approx(s[0], rel=1e-10)
    assert got.condition_number == pytest.approx(s[0] / s[-1], rel=1e-8)
    assert got.stable_rank == pytest.approx((s**2).sum() / s[0] ** 2, rel=1e-10)
    big = RNG.standard_normal((1200, 1100)).astype(np.float32)
    approx = spectral(big, float((big.astype(np.float64) ** 2).sum()))
    assert approx.method == "block-power-iteration" and approx.condition_number is None
    assert approx.spectral_norm == pytest.approx(np.linalg.svd(big, compute_uv=False)[0], rel=1e-3)


def _stats_for(arrays: dict[str, np.ndarray]):
    report = build_report(residual_model())
    values = [(v, arrays.get(v.path, np.full(v.shape, 0.01, dtype=v.dtype))) for v in report.variables]
    return compute_stats(report, values)


def test_flags_fire_on_planted_problems_and_only_there() -> None:
    stem = RNG.standard_normal((8, 8)).astype(np.float32) * 0.3
    stem[3, 5] = np.nan
    conv = RNG.standard_normal((8, 8)).astype(np.float32) * 0.3
    conv[:, 2] = 0
    arrays = {"stem/kernel": stem, "block/conv/kernel": conv,
              "block/norm/moving_mean": np.zeros(8, np.float32), "scale": np.ones(3, np.float32)}  # fmt: skip
    flags = {(f.path, f.rule) for f in _stats_for(arrays).flags}
    assert flags == {("stem/kernel", "nan_inf"), ("block/conv/kernel", "dead_units")}
    exploded = {"stem/kernel": RNG.standard_normal((8, 8)).astype(np.float32) * 50,
                "block/conv/kernel": np.full((8, 8), 0.2, np.float32)}  # fmt: skip
    flags = {(f.path, f.rule) for f in _stats_for(exploded).flags}
    assert flags == {("stem/kernel", "exploding"), ("block/conv/kernel", "collapsed")}
    zero = {"stem/kernel": np.zeros((8, 8), np.float32), "block/conv/kernel": conv * 0 + 0.1 * RNG.random((8, 8))}
    assert {(f.path, f.rule) for f in _stats_for(zero).flags} == {("stem/kernel", "all_zero")}


def test_thresholds_parse_and_change_the_rules() -> None:
    assert Thresholds.parse(["exploding=100", "dead=1e-3"]) == Thresholds(exploding=100, dead=1e-3)
    with pytest.raises(ValueError, match="NAME one of exploding, collapsed, dead"):
        Thresholds.parse(["explode=3"])


def _fixed_stats():
    report = build_report(residual_model())
    values = [(v, (np.arange(int(np.prod(v.shape))) % 7 - 3).reshape(v.shape).astype(v.dtype) / 10)
              for v in report.variables]  # fmt: skip
    return compute_stats(report, values)


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def test_json_csv_and_table_are_stable(golden) -> None:
    stats = _fixed_stats()
    text = render_stats_json(stats)
    data = json.loads(text)
    assert data["schema"] == "modelscope.stats/1"
    assert set(data["variables"][0]) >= {
        "path",
        "layer",
        "shape",
        "dtype",
        "count",
        "trainable",
        "mean",
        "std",
        "min",
        "max",
        "abs_mean",
        "l2",
        "zeros",
        "nan",
        "inf",
        "histogram",
    }
    # Floats are rounded to 10 digits for the golden copies: the last bits depend on the BLAS.
    golden("stats_handmade.json", json.dumps(_rounded(data), indent=2, ensure_ascii=False) + "\n")
    csv_text = render_stats_csv(stats)
    assert csv_text.splitlines()[0] == ",".join(CSV_COLUMNS)
    golden("stats_handmade.csv", re.sub(r"-?\d+\.\d+(e-?\d+)?", lambda m: f"{float(m.group()):.10g}", csv_text))
    golden("stats_handmade.txt", render_stats_table(stats).plain)


def test_filter_and_sort() -> None:
    from modelscope.render.stats import StatsOptions, select

    stats = _fixed_stats()
    variables, layers, _ = select(stats, StatsOptions(filter="block/*"))
    assert [v.info.path for v in variables] == ["block/conv/kernel", "block/norm/gamma", "block/norm/moving_mean"]
    assert {l.path for l in layers} == {"block/conv", "block/norm"}
    ordered, _, _ = select(stats, StatsOptions(sort="count"))
    assert [v.moments.count for v in ordered] == sorted((v.moments.count for v in stats.variables), reverse=True)


def test_sparkline() -> None:
    assert sparkline((0, 1, 8)) == " ▁█"
    assert sparkline(()) == ""
