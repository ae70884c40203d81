"""What the pytest plugin adds to `pytest --collect-only` on an empty project (issue #6 target:
at most 50 ms). Fresh processes, the plugin on and off (`-p no:modelscope`), interleaved so drift
on a shared machine hits both sides; medians.

Run: python benchmarks/plugin_overhead.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as project:
        base = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]

        def run(extra: list[str]) -> float:
            start = time.perf_counter()
            subprocess.run(base + extra, cwd=project, capture_output=True)  # exit 5: no tests, as expected
            return time.perf_counter() - start

        loaded = subprocess.run(base + ["--help"], cwd=project, capture_output=True, text=True).stdout
        assert "--modelscope-update" in loaded, "the plugin is not installed (pip install -e .)"
        on, off = [], []
        for _ in range(args.repeat):
            on.append(run([]))
            off.append(run(["-p", "no:modelscope"]))
        with_plugin, without = statistics.median(on), statistics.median(off)
    print(f"pytest --collect-only, empty project: {without * 1000:.0f} ms without the plugin, "
          f"{with_plugin * 1000:.0f} ms with it -> +{(with_plugin - without) * 1000:.0f} ms (target <= 50 ms)")


if __name__ == "__main__":
    main()
