"""Per-op times of compiled calls, from TensorFlow's host profiler, split so that they add up.

``profile_events(run)`` runs ``run()`` under the profiler (host tracer only: no Python tracer,
no device tracer) and returns every ``tf.function`` call made from Python and every op the
graph executor ran. The private ``_pywrap_profiler.ProfilerSession`` hands the events back in
memory (its ``stop()`` returns a serialized ``tensorflow.profiler.Trace``); where that module is
missing, the public ``tf.profiler.experimental`` API writes an ``*.xplane.pb`` that is parsed
instead. Both give the same events (op events are named ``"<node name>:<op type>"``; the Python
thread's event carrying ``tf_function_call`` spans one call).

``split_calls`` then shares each instant of a call equally among the ops running at that
instant (inter-op parallelism runs independent ops on several threads), so the ops' shares sum
to the time some op was running (``busy``) and ``wall = busy + overhead`` exactly, per call.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field

# ops whose events enclose other ops' events (a function body run by another executor, an XLA
# launch): left out, so no time is counted twice
CONTAINERS = frozenset({"PartitionedCall", "StatefulPartitionedCall", "If", "StatelessIf", "While",
                        "StatelessWhile", "Case", "StatelessCase", "_XlaRun", "XlaLaunch", "_XlaCompile"})  # fmt: skip
_OPTIONS = {"host_tracer_level": 2, "python_tracer_level": 0, "device_tracer_level": 0}
PS = 1e-12  # the profiler's unit, picoseconds, in seconds


@dataclass(frozen=True)
class OpEvent:
    start: int  # picoseconds, absolute
    end: int
    name: str  # the node name the runtime used
    kind: str  # its op type (``_MklNativeFusedConv2D``)


@dataclass
class CallSplit:
    """One traced call: its wall time, the time some op was running, and each key's share (s)."""

    wall: float
    busy: float
    raw: float  # the ops' own durations summed: above ``busy`` when ops overlapped
    shares: dict[str, float] = field(default_factory=dict)


def profile_events(run: Callable[[], None]) -> tuple[list[tuple[int, int]], list[OpEvent]]:
    """Run ``run()`` under the host profiler: (the calls' (start, end), the op events), sorted."""
    try:
        from tensorflow.python.profiler.internal import _pywrap_profiler
        from tensorflow.tsl.profiler.protobuf import trace_events_pb2
    except ImportError:  # private modules gone: the public API and its xplane file
        return _parse_xspace(_xspace(run))
    session = _pywrap_profiler.ProfilerSession()
    session.start("", dict(_OPTIONS))
    try:
        run()
    finally:
        data = session.stop()
    trace = trace_events_pb2.Trace()
    trace.ParseFromString(data)
    calls, ops = [], []
    for ev in trace.trace_events:
        end = ev.timestamp_ps + ev.duration_ps
        if "tf_function_call" in ev.args:
            calls.append((ev.timestamp_ps, end))
        elif "long_name" in ev.args:
            name, _, kind = ev.args["long_name"].partition(":")
            ops.append(OpEvent(ev.timestamp_ps, end, name, kind or ev.name))
    return sorted(calls), sorted(ops, key=lambda o: o.start)


def _xspace(run: Callable[[], None]) -> bytes:
    import glob
    import tempfile

    import tensorflow as tf

    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir, tf.profiler.experimental.ProfilerOptions(**_OPTIONS))
        try:
            run()
        finally:
            tf.profiler.experimental.stop()
        (path,) = glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)
        with open(path, "rb") as f:
            return f.read()


def _parse_xspace(data: bytes) -> tuple[list[tuple[int, int]], list[OpEvent]]:
    """The ``/host:CPU`` plane: an op event's metadata ``name`` is "node:type", its
    ``display_name`` the type; absolute time = line.timestamp_ns * 1000 + offset_ps."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(data)
    calls, ops = [], []
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        call_stat = {k for k, v in plane.stat_metadata.items() if v.name == "tf_function_call"}
        for line in plane.lines:
            for ev in line.events:
                md = plane.event_metadata[ev.metadata_id]
                start = line.timestamp_ns * 1000 + ev.offset_ps
                if any(s.metadata_id in call_stat for s in ev.stats):
                    calls.append((start, start + ev.duration_ps))
                elif md.display_name and md.name.endswith(":" + md.display_name):
                    ops.append(OpEvent(start, start + ev.duration_ps, md.name.split(":", 1)[0], md.display_name))
    return sorted(calls), sorted(ops, key=lambda o: o.start)


def share_concurrent(intervals: list[tuple[int, int, int]]) -> tuple[dict[int, float], int]:
    """Each stretch of time shared equally among the intervals (start, end, key) covering it:
    ({key: picoseconds}, which sum to the union, and the union's length)."""
    points = sorted({p for s, e, _ in intervals for p in (s, e)})
    starts: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)
    for s, e, k in intervals:
        starts[s].append((e, k))
    share: dict[int, float] = collections.defaultdict(float)
    active: list[tuple[int, int]] = []
    busy = 0
    for a, b in zip(points, points[1:]):
        active = [(e, k) for e, k in active if e > a] + starts.get(a, [])
        if active:
            busy += b - a
            for _, k in active:
                share[k] += (b - a) / len(active)
    return dict(share), busy


def split_calls(calls: list[tuple[int, int]], ops: list[OpEvent],
                owner: Callable[[str, str], str]) -> list[CallSplit]:  # fmt: skip
    """Each call's op time by ``owner(name, kind)`` (a layer path, or any other key), every
    instant shared among the ops running then; ops enclosing other ops are left out."""
    out = []
    j = 0
    for start, end in calls:
        while j < len(ops) and ops[j].start < start:
            j += 1
        inside = []
        while j < len(ops) and ops[j].start < end:
            if ops[j].kind not in CONTAINERS and not ops[j].kind.startswith("__inference"):
                inside.append(ops[j])
            j += 1
        intervals = [(o.start, min(o.end, end), i) for i, o in enumerate(inside)]
        shares, busy = share_concurrent(intervals)
        split = CallSplit((end - start) * PS, busy * PS, sum(e - s for s, e, _ in intervals) * PS)
        for i, ps in shares.items():
            key = owner(inside[i].name, inside[i].kind)
            split.shares[key] = split.shares.get(key, 0.0) + ps * PS
        out.append(split)
    return out


def middle_half(splits: list[CallSplit]) -> list[CallSplit]:
    """The middle half of the calls by wall time (from 4 calls on): a load spike from another
    process is left out; every figure is then a mean over these same calls, so they still add up."""
    if len(splits) < 4:
        return list(splits)
    ranked = sorted(range(len(splits)), key=lambda i: splits[i].wall)
    quarter = len(splits) // 4
    return [splits[i] for i in sorted(ranked[quarter : len(splits) - quarter])]
