"""`modelscope stats` on a sharded Keras checkpoint (issue #16): peak memory and read throughput.

Writes a sharded checkpoint in Keras 3's layout (an `x.weights.json` index and
`x_00000.weights.h5`, ... shards, with numpy + h5py, no TensorFlow) of `--gib` GiB whose largest
variable is `--largest-gib`, in a temporary folder removed afterwards (also on error or Ctrl-C).
Then, in fresh processes, interleaved over `--rounds` rounds:

* `modelscope stats x.weights.json` with the options a user gets by default;
* a plain sequential read of the same files: h5py reading every dataset of every shard, in
  file order, into a NumPy array (the floor of any reader);
* the interpreter baseline: the same `modelscope stats` on a tiny checkpoint of the same layout
  (the same modules imported, no large array).

Targets: peak RSS <= 1.2 x (largest variable + baseline RSS); throughput (bytes / wall time of the
whole process) >= 0.8 x the plain read's. Peak RSS comes from `os.wait4` (the child's own
ru_maxrss). `--cache cold` evicts the checkpoint's pages from the page cache before each run
(posix_fadvise DONTNEED on its files only), as when a checkpoint larger than free memory is
read; `--cache warm` reads it from the page cache (memory-bound: the statistics' own compute
then decides); the default measures both.

Run: python benchmarks/sharded_stats.py [--gib 6] [--largest-gib 1] [--shard-gib 2] [--rounds 3]
     [--cache both|cold|warm] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROWS = 1024  # the width of every kernel: (rows, 1024) float32
PLAIN_READ = """import sys, h5py, numpy as np
total = 0
for name in sys.argv[1:]:
    with h5py.File(name, "r") as f:
        keys = []
        f.visititems(lambda k, o: keys.append(k) if isinstance(o, h5py.Dataset) else None)
        for key in keys:
            value = np.asarray(f[key][()])
            total += value.nbytes
            del value
print(total)
"""


def _variables(gib: float, largest_gib: float) -> list[tuple[str, tuple[int, ...]]]:
    """(Keras layer path, shape) of each kernel: one embedding of the largest size, then blocks of
    a quarter of it (at most 256 MiB) up to the total; every block has a bias too."""
    largest = max(1, int(largest_gib * 2**30 / (4 * ROWS)))
    block = max(1, min(largest // 4, 2**26 // ROWS))
    found = [("layers/embedding", (largest, ROWS))]
    left = int(gib * 2**30) - largest * ROWS * 4
    i = 0
    while left > 0:
        found.append((f"layers/blocks_{i}/layers/dense", (block, ROWS)))
        left -= block * ROWS * 4
        i += 1
    return found


def write_checkpoint(folder: Path, gib: float, largest_gib: float, shard_gib: float) -> dict[str, Any]:
    """A sharded checkpoint as Keras 3 writes it: a new shard when the next value would overflow
    ``shard_gib``; each layer's vars group (with its ``name`` attribute) in the shard of its data."""
    import h5py
    import numpy as np

    base = np.random.default_rng(0).standard_normal(2**24, dtype=np.float32)  # 64 MiB, reused
    limit, shard, used = shard_gib * 2**30, 0, 0.0
    files: list[Path] = []
    weight_map: dict[str, list[str]] = {}
    handle = None
    largest = total = count = 0
    try:
        for n, (layer, shape) in enumerate(_variables(gib, largest_gib)):
            for index, value_shape in enumerate((shape, shape[1:])):  # kernel, bias
                size = int(np.prod(value_shape)) * 4
                if handle is None or used + size > limit:
                    if handle is not None:
                        handle.close()
                        shard += 1
                    files.append(folder / f"x_{shard:05}.weights.h5")
                    handle, used = h5py.File(files[-1], "w"), 0.0
                used += size
                group = handle.require_group(f"{layer}/vars")
                group.attrs["name"] = layer.rpartition("/")[2]
                data = group.create_dataset(str(index), shape=value_shape, dtype="float32")
                _fill(data, base, scale=0.02 * (1 + n % 7), offset=0.001 * n if index == 0 else 0.0)
                names = weight_map.setdefault(f"/{layer}/vars", [])
                if files[-1].name not in names:
                    names.append(files[-1].name)
                largest, total, count = max(largest, size), total + size, count + 1
    finally:
        if handle is not None:
            handle.close()
    index_path = folder / "x.weights.json"
    index_path.write_text(json.dumps({"metadata": {"total_size": float(total)}, "weight_map": weight_map}, indent=4))
    return {"index": str(index_path), "files": [str(p) for p in (index_path, *files)], "largest": largest,
            "total": total, "count": count}  # fmt: skip


def write_in_child(folder: Path, gib: float, largest_gib: float, shard_gib: float) -> dict[str, Any]:
    """``write_checkpoint`` in a fresh process: this one stays small, so that no child's peak RSS
    (which counts the image it was forked from) includes the buffers of the writing."""
    args = [sys.executable, __file__, "--write", str(folder), "--gib", str(gib), "--largest-gib", str(largest_gib),
            "--shard-gib", str(shard_gib)]  # fmt: skip
    return dict(json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout))


def _fill(data: Any, base: Any, scale: float, offset: float) -> None:
    """Write normal-looking values (a reused random block, scaled) into ``data`` a block at a time."""
    if data.ndim == 1:
        data[...] = base[: data.shape[0]] * scale
        return
    width = data.shape[1]
    rows = max(1, base.size // width)
    block = (base[: rows * width].reshape(rows, width) * scale + offset).astype("float32")
    for start in range(0, data.shape[0], rows):
        stop = min(start + rows, data.shape[0])
        data[start:stop] = block[: stop - start]


def evict(files: list[str]) -> None:
    """Drop these files' pages from the page cache (written back first): the next read is from disk."""
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def measure(args: list[str], cwd: Path) -> tuple[float, int]:
    """Wall time (s) and peak RSS (bytes) of a fresh process; it must exit 0."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    child = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, status, usage = os.wait4(child.pid, 0)
    except BaseException:
        child.kill()
        child.wait()
        raise
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    error = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {child.returncode}: {error[-2000:]}")
    return wall, usage.ru_maxrss * 1024


def _stats_command(index: str) -> list[str]:
    return [sys.executable, "-m", "modelscope", "stats", str(index)]


def rounds(ckpt: dict[str, Any], folder: Path, count: int, cold: bool) -> dict[str, list[tuple[float, int]]]:
    """Both commands, interleaved (the order swapped every round), each on a cold or warm cache."""
    shards = ckpt["files"][1:]
    runs: dict[str, list[tuple[float, int]]] = {"stats": [], "plain": []}
    commands = {"stats": _stats_command(ckpt["index"]), "plain": [sys.executable, "-c", PLAIN_READ, *shards]}
    if not cold:
        measure(commands["plain"], folder)  # warm the page cache once
    for n in range(count):
        for name in ("stats", "plain") if n % 2 == 0 else ("plain", "stats"):
            if cold:
                evict(ckpt["files"])
            runs[name].append(measure(commands[name], folder))
    return runs


def report(runs: dict[str, list[tuple[float, int]]], ckpt: dict[str, Any], baseline: int, label: str) -> None:
    gib, total = 2**30, ckpt["total"]
    t_stats, t_plain = (statistics.median(r[0] for r in runs[name]) for name in ("stats", "plain"))
    rss_stats, rss_plain = (max(r[1] for r in runs[name]) / gib for name in ("stats", "plain"))
    bound = ckpt["largest"] + baseline
    rates = total / t_stats / gib, total / t_plain / gib
    print(f"[{label}] stats: {t_stats:.2f} s ({rates[0]:.2f} GiB/s), peak RSS {rss_stats:.2f} GiB; "
          f"plain read: {t_plain:.2f} s ({rates[1]:.2f} GiB/s), peak RSS {rss_plain:.2f} GiB")  # fmt: skip
    print(f"[{label}]   peak RSS / (largest variable {ckpt['largest'] / gib:.2f} GiB + interpreter "
          f"{baseline / 2**20:.0f} MiB) = {rss_stats * gib / bound:.3f} (target <= 1.2); "
          f"throughput stats / plain read = {t_plain / t_stats:.2f} (target >= 0.8)")  # fmt: skip
    pairs = ", ".join(f"({a[0]:.2f}, {b[0]:.2f})" for a, b in zip(runs["stats"], runs["plain"]))
    print(f"[{label}]   each round (stats s, plain s): {pairs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=6.0, help="total size of the checkpoint (GiB)")
    parser.add_argument("--largest-gib", type=float, default=1.0, help="size of its largest variable (GiB)")
    parser.add_argument("--shard-gib", type=float, default=2.0, help="max_shard_size (GiB)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", choices=["both", "cold", "warm"], default="both")
    parser.add_argument("--dir", default=None, help="where to write the checkpoint (default: the temp folder)")
    parser.add_argument("--write", metavar="FOLDER", help=argparse.SUPPRESS)  # the writing child
    args = parser.parse_args()
    if args.write:
        print(json.dumps(write_checkpoint(Path(args.write), args.gib, args.largest_gib, args.shard_gib)))
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cleanup runs on kill too

    with tempfile.TemporaryDirectory(prefix="sharded_stats.", dir=args.dir) as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        ckpt = write_in_child(folder, args.gib, args.largest_gib, args.shard_gib)
        took = time.perf_counter() - start
        print(f"checkpoint: {ckpt['total'] / 2**30:.2f} GiB in {len(ckpt['files']) - 1} shards, {ckpt['count']} "
              f"variables, largest {ckpt['largest'] / 2**30:.2f} GiB (written in {took:.0f} s)")  # fmt: skip
        (folder / "tiny").mkdir()
        tiny = write_in_child(folder / "tiny", 2**-20, 2**-21, 1.0)
        baseline = max(measure(_stats_command(tiny["index"]), folder)[1] for _ in range(max(2, args.rounds)))
        print(f"interpreter baseline (modelscope stats on a {tiny['total'] // 1024} KiB checkpoint): "
              f"peak RSS {baseline / 2**20:.0f} MiB")  # fmt: skip
        for cold in {"both": (True, False), "cold": (True,), "warm": (False,)}[args.cache]:
            label = "cold cache" if cold else "warm cache"
            report(rounds(ckpt, folder, args.rounds, cold), ckpt, baseline, label)


if __name__ == "__main__":
    main()
