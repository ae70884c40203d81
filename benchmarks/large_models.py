"""Summaries of models larger than memory (issue #16): Llama 3 70B and Gemma 7B written with
keras-hub classes at their published sizes, summarised by the real command (`modelscope summary
llm.py`, weightless by default), in a fresh process each: wall time, peak RSS, parameters against
the published count, MACs for 2,048 tokens against the analytic count; and EfficientNetB7:
`modelscope summary` against a plain Keras script that builds it and prints `model.summary()`,
same run, interleaved, medians, the ratio printed.

Targets: 70B and 7B under 30 s and 2 GB each, exact params, MACs within 3%; EfficientNetB7 at
most 0.5x the plain script.

Run: python benchmarks/large_models.py [--repeat 3] [--only llama|gemma|efficientnet]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

LLAMA3_70B = dict(vocabulary_size=128256, num_layers=80, num_query_heads=64, hidden_dim=8192,
                  intermediate_dim=28672, num_key_value_heads=8, rope_max_wavelength=500000,
                  layer_norm_epsilon=1e-5)  # fmt: skip
GEMMA_7B = dict(vocabulary_size=256000, num_layers=28, num_query_heads=16, num_key_value_heads=16, hidden_dim=3072,
                intermediate_dim=49152, head_dim=256)  # fmt: skip
PUBLISHED = {"llama": 70_553_706_496, "gemma": 8_537_680_896}
TOKENS = 2048


def analytic_macs(cfg: dict, ffn: int) -> int:
    """Per sequence of TOKENS: every projection once per token, plus scores and weighted sum
    (full attention, as Keras computes it: the causal mask does not skip work)."""
    heads, kv, hidden = cfg["num_query_heads"], cfg["num_key_value_heads"], cfg["hidden_dim"]
    head_dim = cfg.get("head_dim") or hidden // heads
    projections = hidden * heads * head_dim * 2 + hidden * kv * head_dim * 2 + 3 * hidden * ffn
    return cfg["num_layers"] * (TOKENS * projections + 2 * TOKENS * TOKENS * heads * head_dim)


def source(cls: str, cfg: dict) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in cfg.items())
    return f"import keras_hub\n\nmodel = keras_hub.models.{cls}({args})\n"


def run(command: list[str], cwd: Path) -> tuple[float, int, str]:
    """Wall time, peak RSS (KB) of the child, stdout."""
    code = ("import resource, subprocess, sys, time\nstart = time.perf_counter()\n"
            "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "wall = time.perf_counter() - start\n"
            "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
            "sys.stderr.write(done.stderr)\nprint(wall, peak, done.returncode)\n"
            "print(done.stdout, end='')\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code, *command], cwd=cwd, capture_output=True, text=True)
    head, _, out = done.stdout.partition("\n")
    wall, peak, rc = head.split()
    if rc != "0":
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return float(wall), int(peak), out


def large(name: str, cls: str, cfg: dict, ffn: int, folder: Path) -> None:
    (folder / f"{name}.py").write_text(source(cls, cfg))
    shapes = ["--input-shape", f"token_ids=None,{TOKENS}", "--input-shape", f"padding_mask=None,{TOKENS}",
              "--dtype", "int32"]  # fmt: skip
    wall, peak, out = run(["modelscope", "summary", f"{name}.py", *shapes, "--format", "json"], folder)
    report = json.loads(out)
    params, macs = report["totals"]["params"], report["totals"]["macs"]
    expected = analytic_macs(cfg, ffn)
    print(f"{name}: {wall:.1f} s, peak RSS {peak / 1024:.0f} MB; params {params:,} (published "
          f"{PUBLISHED[name]:,}: {'exact' if params == PUBLISHED[name] else 'DIFFERENT'}); MACs {macs:,} vs "
          f"analytic {expected:,} ({macs / expected - 1:+.2%})")  # fmt: skip


PLAIN = "import keras\nmodel = keras.applications.EfficientNetB7(weights=None)\nmodel.summary()\n"
OURS = "import keras\nmodel = keras.applications.EfficientNetB7(weights=None)\n"


def efficientnet(folder: Path, repeat: int) -> None:
    (folder / "plain.py").write_text(PLAIN)
    (folder / "effnet.py").write_text(OURS)
    ours, plain = [], []
    for i in range(repeat + 1):  # the first round warms the file cache and is dropped
        pair = [("ours", ["modelscope", "summary", "effnet.py"]), ("plain", [sys.executable, "plain.py"])]
        for label, command in pair if i % 2 else reversed(pair):
            wall, _, _ = run(command, folder)
            if i:
                (ours if label == "ours" else plain).append(wall)
    a, b = statistics.median(ours), statistics.median(plain)
    print(f"EfficientNetB7: modelscope summary {a:.2f} s, plain Keras build + model.summary() {b:.2f} s: "
          f"ratio {a / b:.2f} (target <= 0.5); medians of {repeat}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["llama", "gemma", "efficientnet"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "llama"):
            large("llama", "Llama3Backbone", LLAMA3_70B, LLAMA3_70B["intermediate_dim"], folder)
        if args.only in (None, "gemma"):
            large("gemma", "GemmaBackbone", GEMMA_7B, GEMMA_7B["intermediate_dim"] // 2, folder)
        if args.only in (None, "efficientnet"):
            efficientnet(folder, args.repeat)


if __name__ == "__main__":
    main()
