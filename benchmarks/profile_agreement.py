"""The profile's whole-model figure against a plain timing of ``model.predict_on_batch``, same run.

Target (issue #18): they agree within 10% (ratio 0.9-1.1). Both run the same random input at the
same batch size; ``predict_on_batch`` is Keras's own compiled predict step returning NumPy, timed
with ``timeit`` (median of ``--repeat`` runs after warm-up). Per-layer figures are not compared:
they are measured in isolation (see ``modelscope/trace/profile.py``).

Run: python benchmarks/profile_agreement.py [--model ResNet50] [--size 224] [--batch 1] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import timeit

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="MobileNetV2", help="a keras.applications name, built with weights=None")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    import keras
    import numpy as np

    import modelscope

    model = getattr(keras.applications, args.model)(input_shape=(args.size, args.size, 3), weights=None)
    profile = modelscope.profile(model, batch_size=args.batch, repeat=args.repeat, warmup=3)
    x = np.random.default_rng(0).random((args.batch, args.size, args.size, 3), dtype=np.float32)
    for _ in range(3):
        model.predict_on_batch(x)
    plain = statistics.median(timeit.repeat(lambda: model.predict_on_batch(x), number=1, repeat=args.repeat))
    ours = profile.model_forward.median
    ratio = ours / plain
    print(f"{args.model} {args.size}x{args.size} batch {args.batch}: profile whole model {ours * 1e3:.2f} ms, "
          f"predict_on_batch {plain * 1e3:.2f} ms, ratio {ratio:.3f} ({'within' if 0.9 <= ratio <= 1.1 else 'OUTSIDE'} "
          f"10%); top-level layers sum {profile.top_level_sum * 1e3:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
