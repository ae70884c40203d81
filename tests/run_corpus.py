"""Run modelscope over the real-world corpus (tests/corpus.py) and check it against Keras.

A developer tool, not a test. For each model: build it, ``modelscope.inspect`` it, draw its graph
(DOT), compute its weight statistics, and compare with Keras's own figures: total, trainable and
non-trainable parameters, the output shapes of Keras's symbolic call, a published parameter count
where there is one, and no health flag. One line per model: PASS, FAIL, or SKIP when the model
itself cannot be built (a corpus problem, not modelscope's).

    python tests/run_corpus.py > /tmp/corpus_run.txt 2>&1            # everything (applications last)
    python tests/run_corpus.py --family hub,task --skip-slow          # the quick part
    python tests/run_corpus.py -k Bert --traceback-file /tmp/tb.txt  # a few, with full tracebacks

modelscope is imported as installed; PYTHONPATH=DIR runs a copy in DIR/modelscope instead (a snapshot
of a tree that is being edited).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # corpus.py; modelscope as installed (or PYTHONPATH)

import corpus  # noqa: E402
import keras  # noqa: E402

import modelscope  # noqa: E402
import modelscope.api  # noqa: E402


class Mismatch(Exception):
    """modelscope and Keras disagree."""


def _size(weights: list[Any]) -> int:
    return sum(math.prod(int(d) for d in w.shape) for w in weights)


def keras_output_shapes(model: keras.Model) -> list[tuple[int | None, ...]]:
    """The output shapes of Keras's own symbolic call on the model's inputs (dicts flattened)."""
    try:
        spec = model.compute_output_spec(model.input)
    except Exception:  # some models cannot re-run on their own inputs: use the recorded outputs
        spec = model.output
    return [tuple(t.shape) for t in keras.tree.flatten(spec)]


def check(entry: corpus.Entry, times: dict[str, float], notes: list[str]) -> list[str]:
    """Run every step on one entry; return the mismatches (raises on an exception). ``notes``
    receives what is worth knowing but not a failure (the report's own warnings)."""
    stage = "build"
    t = time.perf_counter()
    try:
        model = entry.make()
        times[stage] = time.perf_counter() - t
        stage, t = "inspect", time.perf_counter()
        report = modelscope.inspect(model)
        times[stage] = time.perf_counter() - t
        stage, t = "graph", time.perf_counter()
        dot = modelscope.graph(report, format="dot")
        times[stage] = time.perf_counter() - t
        stage, t = "stats", time.perf_counter()
        stats = modelscope.api.stats(model)
        times[stage] = time.perf_counter() - t
        stage = "compare"
        problems = []
        warned = getattr(report, "warnings", ())
        if warned:
            notes.append(f"{len(warned)} report warning(s): {warned[0].splitlines()[0][:120]}")
        if not dot.lstrip().startswith(("digraph", "strict digraph")):
            problems.append("graph: not DOT source")
        params = model.count_params()
        trainable, non_trainable = _size(model.trainable_weights), _size(model.non_trainable_weights)
        got = report.totals
        for label, mine, theirs in (("params", got.params, params), ("trainable", got.trainable, trainable),
                                    ("non_trainable", got.non_trainable, non_trainable)):  # fmt: skip
            if mine != theirs:
                problems.append(f"{label} {mine:,} != keras {theirs:,}")
        if entry.expected_params is not None and params != entry.expected_params:
            problems.append(f"keras count_params {params:,} != published {entry.expected_params:,}")
        expected = keras_output_shapes(model)
        shapes = [o.shape for o in report.outputs]
        if shapes != expected:
            problems.append(f"outputs {shapes} != keras {expected}")
        if stats.flags:
            flags = ", ".join(f"{f.rule}:{f.path}" for f in stats.flags[:4])
            more = f" (+{len(stats.flags) - 4} more)" if len(stats.flags) > 4 else ""
            problems.append(f"{len(stats.flags)} health flags: {flags}{more}")
        return problems
    except Exception as e:
        e.stage = stage  # type: ignore[attr-defined]
        raise


def first_line(e: BaseException) -> str:
    lines = [line for line in str(e).splitlines() if line.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:300]


def modelscope_frames(e: BaseException, n: int = 3) -> str:
    """The last frames of the traceback that lie in modelscope (file:line function)."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "/modelscope/" in f.filename]
    cause = e.__cause__ or e.__context__
    while not frames and cause is not None:
        frames = [f for f in traceback.extract_tb(cause.__traceback__) if "/modelscope/" in f.filename]
        cause = cause.__cause__ or cause.__context__
    return " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames[-n:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", default="hub,task,full,app", help="comma-separated: hub, task, full, app")
    parser.add_argument("-k", dest="match", action="append", default=[], help="only ids containing this")
    parser.add_argument("--skip-slow", action="store_true", help="leave out entries marked slow")
    parser.add_argument("--traceback-file", help="append full tracebacks of failures here")
    args = parser.parse_args()

    makers = {"hub": corpus.hub_backbones, "task": corpus.hub_tasks, "full": corpus.full_size,
              "app": corpus.applications}  # fmt: skip
    entries = [e for fam in args.family.split(",") for e in makers[fam.strip()]()]
    entries = [e for e in entries if (not args.match or any(m in e.id for m in args.match))
               and not (args.skip_slow and e.slow)]  # fmt: skip
    tb_file = open(args.traceback_file, "a", encoding="utf-8") if args.traceback_file else None  # noqa: SIM115
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    fast_time = 0.0
    print(f"{len(entries)} models · modelscope {modelscope.__version__} from {Path(modelscope.__file__).parent} · "
          f"keras {keras.__version__}", flush=True)  # fmt: skip
    for entry in entries:
        keras.backend.clear_session()
        times: dict[str, float] = {}
        notes: list[str] = []
        start = time.perf_counter()
        try:
            problems = check(entry, times, notes)
            detail = "; ".join(problems)
        except Exception as e:  # noqa: BLE001 - one model's failure must not stop the run
            stage = getattr(e, "stage", "?")
            where = modelscope_frames(e)
            problems = [f"[{stage}] {first_line(e)}" + (f"  @ {where}" if where else "")]
            detail = problems[0]
            if tb_file:
                tb_file.write(f"===== {entry.id} [{stage}]\n{''.join(traceback.format_exception(e))}\n")
                tb_file.flush()
        total = time.perf_counter() - start
        if not entry.slow:
            fast_time += total
        status = "FAIL" if problems else "PASS"
        if problems and "build" not in times:
            status = "SKIP"  # the model could not be built: nothing of modelscope's ran
        counts[status] += 1
        steps = " ".join(f"{k} {v:.1f}s" for k, v in times.items())
        slow = " (slow)" if entry.slow else ""
        info = f"  (note: {'; '.join(notes)})" if notes else ""
        print(f"{status}  {entry.id:45s} {total:6.1f}s{slow}  [{steps}]  {detail}{info}".rstrip(), flush=True)
    print(f"\n{counts['PASS']} PASS, {counts['FAIL']} FAIL, {counts['SKIP']} SKIP · "
          f"non-slow entries took {fast_time:.0f} s", flush=True)  # fmt: skip
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
