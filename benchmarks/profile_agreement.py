"""The profile's figures against a plain timing of the model, same run (issue #18).

For ResNet50 (224x224, batch 1, ``weights=None``) and a keras-hub BERT-base backbone (random
weights, sequences of 128, batch 1), prints:

* the profile's whole-model figure (median of the untraced compiled calls) against a plain
  ``timeit`` of ``model.predict_on_batch`` (Keras's own compiled predict step returning NumPy,
  median of ``--repeat`` runs after warm-up): target ratio 0.9-1.1;
* the top-level layers' sum against the traced call and against the whole model: with the traced
  method the layers + unattributed + overhead = the traced call exactly, so the ratio says how
  much of the call is op time given to layers (the rest is runtime overhead);
* with ``--isolated``, the same sum with each layer timed alone (the old method), for comparison.

Run: python benchmarks/profile_agreement.py [--models resnet50,bert] [--repeat 20] [--isolated]
"""

from __future__ import annotations

import argparse
import os
import statistics
import timeit
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def build(name: str) -> tuple[Any, Any, dict[str, Any]]:
    """(model, its inputs as NumPy, the profile's input arguments)."""
    import numpy as np

    if name == "resnet50":
        import keras

        model = keras.applications.ResNet50(weights=None)
        x = np.random.default_rng(0).random((1, 224, 224, 3), dtype=np.float32)
        return model, x, {}
    import keras_hub

    model = keras_hub.models.BertBackbone(vocabulary_size=30522, num_layers=12, num_heads=12, hidden_dim=768,
                                          intermediate_dim=3072, max_sequence_length=512)  # fmt: skip
    ids = np.zeros((1, 128), "int32")
    x = {"token_ids": ids, "segment_ids": ids, "padding_mask": np.ones((1, 128), "int32")}
    return model, x, {"input_shape": dict.fromkeys(x, "None,128"), "dtype": "int32"}


def plain_timing(model: Any, x: Any, repeat: int) -> float:
    """Median seconds of ``model.predict_on_batch(x)`` after 3 warm-up calls."""
    for _ in range(3):
        model.predict_on_batch(x)
    return statistics.median(timeit.repeat(lambda: model.predict_on_batch(x), number=1, repeat=repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="resnet50,bert")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--isolated", action="store_true", help="also profile with timing='isolated'")
    args = parser.parse_args()

    import modelscope

    for name in args.models.split(","):
        model, x, extra = build(name)
        profile = modelscope.profile(model, batch_size=1, repeat=args.repeat, warmup=3, **extra)
        plain = plain_timing(model, x, args.repeat)
        whole, call = profile.model_forward.median, profile.forward_call
        ratio = whole / plain
        print(f"{name}: whole model {whole * 1e3:.2f} ms (untraced median), predict_on_batch {plain * 1e3:.2f} ms, "
              f"ratio {ratio:.3f} ({'within' if 0.9 <= ratio <= 1.1 else 'OUTSIDE'} 10%)")  # fmt: skip
        if call is not None:
            total = profile.top_level_sum
            print(f"  traced call {call.traced.value * 1e3:.2f} ms = layers {total * 1e3:.2f} + unattributed "
                  f"{call.unattributed * 1e3:.3f} + overhead {call.overhead * 1e3:.2f} ms; layers / traced "
                  f"{total / call.traced.value:.3f}, layers / whole {total / whole:.3f}")  # fmt: skip
            top = ", ".join(f"{p} {profile.timing(p).forward.value * 1e3:.2f}" for p in profile.slowest(5))  # type: ignore[union-attr]
            print(f"  slowest: {top}")
        if args.isolated:
            alone = modelscope.profile(model, batch_size=1, repeat=args.repeat, warmup=3, timing="isolated", **extra)
            print(f"  isolated: top-level layers {alone.top_level_sum * 1e3:.2f} ms = "
                  f"{alone.top_level_sum / alone.model_forward.median:.3f} x its whole model")  # fmt: skip


if __name__ == "__main__":
    main()
