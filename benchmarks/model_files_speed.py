"""Speed of reading model files (issue #5), as ratios and times measured in this run.

1. `modelscope summary big.weights.h5` on a ~500 MB weights file, in a fresh process: target
   under 2 s, without importing TensorFlow (the process is checked). Baseline printed alongside:
   a fresh `python -c "import h5py"`, the floor of any h5py-based reader.
2. Loading a `.keras` file: `modelscope.inspect(file)` against Keras's own
   `keras.saving.load_model(file, compile=False)` plus the trace of the loaded model, in this
   process (target: ratio <= 1.0 plus noise), on keras.applications.ResNet50(weights=None).
3. `modelscope summary` of a multi-gigabyte `.keras` (issue #16: the weights are never read)
   against the same architecture saved small, fresh processes, interleaved: target ratio about 1,
   peak RSS far below the file's size.

Run: python benchmarks/model_files_speed.py [--megabytes 500] [--repeat 3] [--keras-gib 4]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _write_weights(path: Path, megabytes: int) -> int:
    import h5py
    import numpy as np

    per_layer = 4 * 2**20  # 16 MiB of float32 per kernel
    layers = max(1, megabytes * 2**20 // (per_layer * 4))
    with h5py.File(path, "w") as f:
        for i in range(layers):
            f.create_dataset(f"layers/dense_{i}/vars/0", data=np.ones((2048, per_layer // 2048), np.float32))
            f.create_dataset(f"layers/dense_{i}/vars/1", data=np.zeros(per_layer // 2048, np.float32))
    return path.stat().st_size


def _fresh(code: str, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


_EMBEDDING = """import keras
model = keras.Sequential([keras.Input((None,), dtype="int32"),
                          keras.layers.Embedding({rows}, 4096, embeddings_initializer="zeros"),
                          keras.layers.Dense(64, kernel_initializer="zeros")])
model.save({path!r})
"""


def _summary_run(path: Path) -> tuple[float, int]:
    """Wall time and peak RSS (MiB) of `modelscope summary path` in a fresh process."""
    code = ("import resource, sys\nfrom modelscope.cli import main\ntry:\n"
            f"    main(['summary', {str(path)!r}, '-o', '/dev/null'])\nexcept SystemExit as e:\n"
            "    assert e.code == 0, e.code\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=path.parent, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, int(done.stdout.split()[-1]) // 1024


def big_keras_file(folder: Path, gib: float, repeat: int) -> None:
    """Summary of a `gib` GiB `.keras` against the same layers saved with 1,000 embedding rows."""
    rows = int(gib * 2**30 / (4096 * 4))
    big, small = folder / "big.keras", folder / "small.keras"
    for path, n in ((big, rows), (small, 1000)):
        subprocess.run([sys.executable, "-c", _EMBEDDING.format(rows=n, path=str(path))], check=True,
                       capture_output=True)  # fmt: skip
    runs = [(_summary_run(small), _summary_run(big)) for _ in range(repeat)]  # interleaved
    t_small, t_big = (statistics.median(r[i][0] for r in runs) for i in (0, 1))
    rss_big = max(r[1][1] for r in runs)
    print(f".keras of {big.stat().st_size / 2**30:.1f} GiB: summary {t_big:.2f} s, peak RSS <= {rss_big} MiB "
          f"; same layers at {small.stat().st_size / 2**20:.1f} MiB: {t_small:.2f} s "
          f"-> ratio {t_big / t_small:.2f} (target about 1)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keras-gib", type=float, default=4.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        size = _write_weights(folder / "big.weights.h5", args.megabytes)
        summary = ("import sys\nfrom modelscope.cli import main\ntry:\n    main(['summary', 'big.weights.h5', '-o', "
                   "'out.txt'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
                   "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\n")  # fmt: skip
        ours = statistics.median(_fresh(summary, folder) for _ in range(args.repeat))
        floor = statistics.median(_fresh("import h5py", folder) for _ in range(args.repeat))
        print(f"summary of a {size / 2**20:.0f} MiB weights file: {ours:.2f} s in a fresh process, no TensorFlow "
              f"(target < 2 s); fresh `import h5py` alone: {floor:.2f} s")  # fmt: skip

        from modelscope._keras import import_keras

        keras = import_keras()
        import modelscope
        from modelscope.model.inputs import make_input_spec
        from modelscope.trace import trace_model

        keras.applications.ResNet50(weights=None).save(folder / "resnet50.keras")

        def keras_way() -> None:
            model = keras.saving.load_model(folder / "resnet50.keras", compile=False)
            trace_model(model, make_input_spec(None, None), None)

        def once(fn) -> float:
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start

        pairs = [(once(keras_way), once(lambda: modelscope.inspect(folder / "resnet50.keras")))
                 for _ in range(args.repeat)]  # interleaved, so drift on a shared machine hits both  # fmt: skip
        base, mine = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
        print(f"ResNet50 .keras: keras load_model + trace {base:.2f} s, modelscope.inspect {mine:.2f} s "
              f"-> ratio {mine / base:.2f} (target <= 1.0 + noise)")  # fmt: skip
        big_keras_file(folder, args.keras_gib, args.repeat)


if __name__ == "__main__":
    main()
