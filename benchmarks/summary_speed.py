"""Speed of `modelscope summary`, as ratios against Keras measured in the same run.

Targets (issue #2):
  1. `modelscope summary samples/hybrid_cnn.py --input-shape None,28,28,1` (a fresh process)
     takes at most 1.3x a plain script that imports TensorFlow, builds the same model and
     prints model.summary().
  2. On EfficientNetB7 (816 layers, weights=None), trace + render takes no more time than
     Keras's own model.summary() (ratio <= 1.0).

Run: python benchmarks/summary_speed.py [--repeat 3] [--skip-large]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAIN = """
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import sys
sys.path.insert(0, "samples")
import keras
from hybrid_cnn import CNN_Model
model = CNN_Model()
model(keras.Input(batch_shape=(None, 28, 28, 1)))
model.summary()
"""


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def cli_vs_plain(repeat: int) -> float:
    ours, plain = [], []
    for _ in range(repeat):  # interleaved, so both see the same machine load
        plain.append(_time([sys.executable, "-c", PLAIN]))
        ours.append(_time([sys.executable, "-m", "modelscope", "summary", "samples/hybrid_cnn.py",
                           "--input-shape", "None,28,28,1"]))  # fmt: skip
    ratio = statistics.median(ours) / statistics.median(plain)
    print(f"hybrid CNN CLI: modelscope {statistics.median(ours):.2f}s, plain Keras script "
          f"{statistics.median(plain):.2f}s -> ratio {ratio:.2f} (target <= 1.30)")  # fmt: skip
    return ratio


def large_model(repeat: int) -> float:
    import keras

    import modelscope
    from modelscope.render.table import render_table

    model = keras.applications.EfficientNetB7(weights=None)
    keras_times, our_times = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        with redirect_stdout(io.StringIO()):
            model.summary()
        keras_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = modelscope.inspect(model)
        _ = render_table(report).plain
        our_times.append(time.perf_counter() - start)
    ratio = statistics.median(our_times) / statistics.median(keras_times)
    print(f"EfficientNetB7 ({len(report.layers)} layers): trace+render "
          f"{statistics.median(our_times):.2f}s, keras summary {statistics.median(keras_times):.2f}s "
          f"-> ratio {ratio:.2f} (target <= 1.00)")  # fmt: skip
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    cli_vs_plain(args.repeat)
    if not args.skip_large:
        large_model(args.repeat)


if __name__ == "__main__":
    main()
