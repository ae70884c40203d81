"""What counting MACs, FLOPs and activation bytes adds to `summary` on EfficientNetB7 (issue #7
target: at most 10%). Same process, interleaved runs: the trace + report + table as `summary` does
it, with the cost pass and with it replaced by a no-op; warm-up first, then alternating order;
medians. (Against the whole `modelscope summary` command, which also imports TensorFlow and
builds the model, the share is far smaller; this is the strict measure.)

Run: python benchmarks/cost_overhead.py [--model EfficientNetB7] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="EfficientNetB7")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from modelscope._keras import import_keras

    keras = import_keras()
    import modelscope.trace as trace
    from modelscope.model.inputs import make_input_spec
    from modelscope.model.report import Cost
    from modelscope.model.traced import build_report
    from modelscope.render.table import render_table

    model = getattr(keras.applications, args.model)(weights=None)
    spec = make_input_spec(None, None)
    real = (trace.record_cost, trace.own_ops_cost, trace.activation_bytes)
    free = (lambda r, g: (Cost(0, 0), False), lambda *a: Cost(0, 0), lambda r: 0)

    def summary(parts: tuple) -> float:
        trace.record_cost, trace.own_ops_cost, trace.activation_bytes = parts
        start = time.perf_counter()
        render_table(build_report(trace.trace_model(model, spec, None)))
        return time.perf_counter() - start

    try:
        summary(free), summary(real)  # warm-up: first renders and traces pay one-time costs
        pairs = []
        for i in range(args.repeat):  # ABBA order, so neither side always runs first
            if i % 2:
                b, a = summary(real), summary(free)
            else:
                a, b = summary(free), summary(real)
            pairs.append((a, b))
    finally:
        trace.record_cost, trace.own_ops_cost, trace.activation_bytes = real
    without, with_cost = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    report = build_report(trace.trace_model(model, spec, None))
    print(f"{args.model}: {len(report.layers)} layers, {report.totals.macs / 1e9:.3f} GMACs / sample")
    print(f"  summary without costs {without:.2f}s, with costs {with_cost:.2f}s -> "
          f"{(with_cost / without - 1) * 100:+.1f}% (target <= 10%)")


if __name__ == "__main__":
    main()
