"""Speed and memory of the statistics step on VGG16 (138 M parameters), as ratios.

Targets (issue #4), after the model is built:
  * compute_stats without spectral metrics takes at most 2x the single NumPy pass
    float(np.abs(w).max()) over every variable (both read the variables the same way, with
    v.numpy(), one at a time);
  * peak memory grows by at most the largest variable plus small change (NumPy allocations,
    measured with tracemalloc);
  * spectral metrics (power iteration on the large kernels) are timed separately.

Run: python benchmarks/stats_speed.py [--model VGG16] [--repeat 3] [--numpy]
(--numpy measures the NumPy-only path, used when modelscope/analysis/_scan.c could not be compiled)
(the first repeat of each side pays page faults for fresh memory; the median hides it)
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="VGG16")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--numpy", action="store_true", help="disable the compiled scan")
    args = parser.parse_args()

    from modelscope._keras import import_keras

    keras = import_keras()
    import numpy as np

    import modelscope
    from modelscope.analysis import stats
    from modelscope.analysis.stats import compute_stats

    if args.numpy:
        stats._native = None
    path = "compiled scan" if stats._native is not None else "NumPy only"
    from modelscope.trace.weights import variable_values

    model = getattr(keras.applications, args.model)(weights=None)
    report = modelscope.inspect(model)
    largest = max(v.bytes for v in report.variables)

    def baseline() -> None:
        for _, w in variable_values(model, report):
            float(np.abs(w).max())

    def ours(spectral: bool) -> None:
        compute_stats(report, variable_values(model, report), spectral_metrics=spectral)

    def timed(fn, *a) -> float:
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            fn(*a)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    def peak(fn, *a) -> int:
        tracemalloc.start()
        fn(*a)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    t_base, t_ours, t_spectral = timed(baseline), timed(ours, False), timed(ours, True)
    print(f"{args.model}: {report.totals.params:,} params, largest variable {largest / 2**20:.0f} MiB ({path})")
    print(f"  abs().max() pass {t_base:.2f}s; stats without spectral {t_ours:.2f}s -> ratio {t_ours / t_base:.2f} "
          f"(target <= 2.00)")  # fmt: skip
    print(f"  stats with spectral metrics {t_spectral:.2f}s (spectral part {t_spectral - t_ours:.2f}s)")
    p_base, p_ours = peak(baseline), peak(ours, False)
    print(f"  peak NumPy memory: abs().max() pass {p_base / 2**20:.0f} MiB, stats {p_ours / 2**20:.0f} MiB; "
          f"stats peak / largest variable = {p_ours / largest:.2f} (target <= ~1.0 + small change)")  # fmt: skip


if __name__ == "__main__":
    main()
