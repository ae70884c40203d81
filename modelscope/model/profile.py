"""A profile: measured times of a model's layers, tied to its report (pure data, no TensorFlow).

``trace/profile.py`` measures; this module holds what was measured and the figures derived from
it (share, achieved MAC/s), so renderers and saved JSON (schema ``modelscope.profile/1``) work
without TensorFlow. Times are in seconds. A layer's figures cover all its calls in one forward
pass (a layer called twice is timed running both calls), sublayers included. ``settings.method``
says how they were taken: "traced" (each layer's ops in the whole model's compiled call; the
figure is a mean over the profiled calls and :class:`TracedCall` accounts for the whole call) or
"isolated" (each layer timed alone; the figure is a median).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelscope.errors import UsageError
from modelscope.model.display import Displayed
from modelscope.model.report import Report
from modelscope.model.shapes import format_shape

SCHEMA = "modelscope.profile/1"
METHODS = ("traced", "isolated")


@dataclass(frozen=True)
class Timing:
    """Measured seconds: the median, fastest and slowest of the runs; ``mean`` too where the runs'
    means are the figure (the traced method: means over one set of calls add up, medians do not)."""

    median: float
    min: float
    max: float
    mean: float | None = None

    @property
    def value(self) -> float:
        """The figure shown and ranked: the mean where there is one, else the median."""
        return self.median if self.mean is None else self.mean

    def to_dict(self) -> dict[str, float]:
        out = {"median": self.median, "min": self.min, "max": self.max}
        return out if self.mean is None else out | {"mean": self.mean}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timing:
        mean = data.get("mean")
        return cls(float(data["median"]), float(data["min"]), float(data["max"]),
                   None if mean is None else float(mean))  # fmt: skip


@dataclass(frozen=True)
class TracedCall:
    """The whole model's call profiled op by op (the traced method), means over the ``calls`` kept
    of the ``profiled`` ones: ``traced`` (its wall time: mean, median, min, max) = ``layers`` (the
    ops' time given to layers) + ``unattributed`` (ops no layer claimed) + ``overhead`` (no op
    running: dispatch, executor scheduling, the copy of the results), exactly. ``busy`` is the
    time some op ran (layers + unattributed); ``op_time`` the ops' own durations summed, above
    ``busy`` when ops ran in parallel. ``unattributed_ops``: the largest, ("node:type", seconds)."""

    traced: Timing
    layers: float
    unattributed: float
    overhead: float
    busy: float
    op_time: float
    calls: int
    profiled: int
    unattributed_ops: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"traced": self.traced.to_dict(), "layers": self.layers, "unattributed": self.unattributed,
                "overhead": self.overhead, "busy": self.busy, "op_time": self.op_time, "calls": self.calls,
                "profiled": self.profiled,
                "unattributed_ops": [{"op": k, "seconds": v} for k, v in self.unattributed_ops]}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TracedCall | None:
        if not data:
            return None
        ops = tuple((str(o["op"]), float(o["seconds"])) for o in data.get("unattributed_ops", ()))
        return cls(Timing.from_dict(data["traced"]), float(data["layers"]), float(data["unattributed"]),
                   float(data["overhead"]), float(data["busy"]), float(data["op_time"]), int(data["calls"]),
                   int(data["profiled"]), ops)  # fmt: skip


@dataclass(frozen=True)
class LayerTiming:
    """A layer's measured times in one forward pass (all its calls), at the report's ``path``.

    ``backward`` times the forward *and* the gradient together (a gradient needs its forward):
    one compiled call computing d sum(outputs) / d (inputs, trainable variables)."""

    path: str
    forward: Timing
    backward: Timing | None
    calls: int
    output_bytes: int  # the outputs of all its calls at the profiled batch size
    self_forward: float | None = None  # traced: the mean time of its own ops (sublayers' left out)
    self_backward: float | None = None  # traced: the same in the forward+gradient call

    @property
    def forward_median(self) -> float:
        return self.forward.median

    @property
    def forward_min(self) -> float:
        return self.forward.min

    @property
    def forward_max(self) -> float:
        return self.forward.max


@dataclass(frozen=True)
class ProfileSettings:
    batch_size: int
    repeat: int
    warmup: int
    jit: bool
    backward: bool
    device: str  # "CPU" or the device the model ran on ("GPU:0")
    method: str = "isolated"  # "traced": ops of the whole model's call; "isolated": each layer alone


@dataclass(frozen=True)
class ProcessMemory:
    """The process's peak resident set size (``getrusage`` ``ru_maxrss``, bytes) read just before
    the model's first profiled call and after the last timed run. It is a high-water mark: it
    never goes down, so ``growth`` is the memory the runs needed *above the earlier peak* (0 when
    they stayed under what loading the model had already used)."""

    peak_before: int
    peak_after: int

    @property
    def growth(self) -> int:
        return max(0, self.peak_after - self.peak_before)

    def to_dict(self) -> dict[str, int]:
        return {"peak_rss_before": self.peak_before, "peak_rss_after": self.peak_after, "growth": self.growth}


@dataclass(frozen=True, repr=False)
class ProfileReport(Displayed):
    """The model's report, each called layer's timing, the whole model's, and how they were taken.
    Shows itself as the profile table: HTML in a notebook, text when printed, one line in ``repr``."""

    report: Report
    layers: tuple[LayerTiming, ...]
    model_forward: Timing
    model_backward: Timing | None
    settings: ProfileSettings
    method: str
    notes: tuple[str, ...] = ()
    overhead: Timing | None = None  # an empty compiled call, measured the same way: the floor of every figure
    memory: ProcessMemory | None = None  # the process's peak RSS around the runs, where it can be read
    forward_call: TracedCall | None = None  # the traced method: the whole call's account
    backward_call: TracedCall | None = None  # the same for the forward+gradient call
    _index: dict[str, LayerTiming] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update((t.path, t) for t in self.layers)

    def timing(self, path: str) -> LayerTiming | None:
        """The timing of the layer at ``path``; None for a layer that was not called."""
        return self._index.get(path)

    @property
    def whole(self) -> float:
        """What shares are fractions of: the traced call's mean (the same calls the layers' times
        come from, so shares add up) or, isolated, the whole model's median."""
        return self.forward_call.traced.value if self.forward_call else self.model_forward.median

    def share(self, path: str) -> float | None:
        """The layer's forward time (mean, traced; median, isolated) as a fraction of :attr:`whole`."""
        t = self.timing(path)
        if t is None or self.whole <= 0:
            return None
        return t.forward.value / self.whole

    def macs_per_second(self, path: str) -> float | None:
        """Achieved MAC/s: the layer's MACs (per sample in the report) x batch size / forward time."""
        t = self.timing(path)
        macs = self.report.layer(path).macs if t is not None else None
        if t is None or macs is None or t.forward.value <= 0:
            return None
        return macs * self.settings.batch_size / t.forward.value

    @property
    def activation_bytes(self) -> int:
        """The bytes of every output of the innermost layers that ran (no sublayer of theirs ran; a
        container's outputs are its sublayers') in one forward pass at the profiled batch size."""
        holders: set[str] = set()
        for t in self.layers:
            parent = self.report.layer(t.path).parent
            while parent and parent not in holders:
                holders.add(parent)
                parent = self.report.layer(parent).parent
        return sum(t.output_bytes for t in self.layers if t.path not in holders)

    @property
    def top_level_sum(self) -> float:
        """The sum of the forward times of the model's direct children."""
        return sum(t.forward.value for t in self.layers if self.report.layer(t.path).depth == 1)

    @property
    def top_level_net(self) -> float | None:
        """:attr:`top_level_sum` less one empty-call overhead per layer (each is one compiled call,
        however many times the layer is called in it), floored at 0 per layer; None when the
        overhead was not measured."""
        if self.overhead is None:
            return None
        top = [t.forward.value for t in self.layers if self.report.layer(t.path).depth == 1]
        return sum(max(0.0, m - self.overhead.median) for m in top)

    def slowest(self, n: int, depth: int | None = None) -> list[str]:
        """The paths of the ``n`` slowest layers (forward time) down to ``depth``; leaves only when
        ``depth`` is None, since a container's time includes its children's."""

        def shown(path: str) -> bool:
            layer = self.report.layer(path)
            if depth is None:
                return not self.report.children(path)
            return layer.depth == depth or (layer.depth < depth and not self.report.children(path))

        ranked = sorted((t for t in self.layers if shown(t.path)), key=lambda t: (-t.forward.value, t.path))
        return [t.path for t in ranked[:n]]

    def check_same_model(self, report: Report, label: str = "the profile") -> None:
        """Refuse to pair this profile with ``report`` unless both have the same layer paths and the
        same input shapes past the batch dimension (``UsageError`` naming what differs)."""
        ours = [l.path for l in self.report.layers]
        theirs = [l.path for l in report.layers]
        fix = ("profile the same source with the same input shape (modelscope profile SOURCE --input-shape ... "
               "--format json -o FILE.json) and give that file")  # fmt: skip
        missing = [p for p in theirs if p not in set(ours)]
        if missing:
            raise UsageError(f"{label} has no layer {missing[0]!r} of this model ({len(missing)} of its "
                             f"{len(theirs)} layer paths missing): it is of another model; {fix}")  # fmt: skip
        extra = [p for p in ours if p not in set(theirs)]
        if extra:
            raise UsageError(f"{label} times a layer {extra[0]!r} this model does not have: it is of another "
                             f"model; {fix}")  # fmt: skip
        shapes = [i.shape[1:] if i.shape else i.shape for i in self.report.inputs]
        if shapes != [i.shape[1:] if i.shape else i.shape for i in report.inputs]:
            given = ", ".join(format_shape(i.shape) for i in self.report.inputs)
            here = ", ".join(format_shape(i.shape) for i in report.inputs)
            raise UsageError(f"{label} was measured on inputs {given}, this model is traced on {here}; {fix}")

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "schema": SCHEMA,
            "settings": {"batch_size": s.batch_size, "repeat": s.repeat, "warmup": s.warmup, "jit": s.jit,
                         "backward": s.backward, "device": s.device},
            "method": s.method,
            "method_text": self.method,
            "model": {"forward": self.model_forward.to_dict(),
                      "backward": self.model_backward.to_dict() if self.model_backward else None,
                      "traced": None if self.forward_call is None else {
                          "forward": self.forward_call.to_dict(),
                          "backward": self.backward_call.to_dict() if self.backward_call else None}},
            "layers": [
                {"path": t.path, "calls": t.calls, "output_bytes": t.output_bytes,
                 "forward": t.forward.to_dict(), "backward": t.backward.to_dict() if t.backward else None,
                 "self_forward": t.self_forward, "self_backward": t.self_backward,
                 "share": self.share(t.path),
                 "macs": self.report.layer(t.path).macs, "macs_per_second": self.macs_per_second(t.path)}
                for t in self.layers
            ],
            "overhead": self.overhead.to_dict() if self.overhead else None,
            "memory": {"activation_bytes": self.activation_bytes,
                       "process": self.memory.to_dict() if self.memory else None},
            "notes": list(self.notes),
            "report": self.report.to_dict(),
        }  # fmt: skip

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProfileReport:
        """Read what :meth:`to_dict` wrote; derived fields (``share``, ``macs``, ``macs_per_second``) are
        recomputed. A file from before ``method`` named the method ("traced" or "isolated") held its
        text there: it was measured in isolation."""
        if not isinstance(data, Mapping) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, Mapping) else None
            raise ValueError(f"not a modelscope profile (schema {found!r}, expected {SCHEMA!r})")
        s, m = data["settings"], data["model"]
        report = Report.from_dict(data["report"])
        layers = tuple(
            LayerTiming(str(t["path"]), Timing.from_dict(t["forward"]),
                        Timing.from_dict(t["backward"]) if t.get("backward") else None,
                        int(t["calls"]), int(t["output_bytes"]), _seconds(t.get("self_forward")),
                        _seconds(t.get("self_backward")))
            for t in data["layers"]
        )  # fmt: skip
        for t in layers:
            report.layer(t.path)  # KeyError for a timing of a layer the report does not hold
        kind = str(data["method"])
        text = str(data.get("method_text", "")) if kind in METHODS else kind
        traced = m.get("traced") or {}
        return cls(
            report=report,
            layers=layers,
            model_forward=Timing.from_dict(m["forward"]),
            model_backward=Timing.from_dict(m["backward"]) if m.get("backward") else None,
            settings=ProfileSettings(int(s["batch_size"]), int(s["repeat"]), int(s["warmup"]), bool(s["jit"]),
                                     bool(s["backward"]), str(s["device"]),
                                     kind if kind in METHODS else "isolated"),
            method=text,
            notes=tuple(str(n) for n in data.get("notes", ())),
            overhead=Timing.from_dict(data["overhead"]) if data.get("overhead") else None,
            memory=_process_memory((data.get("memory") or {}).get("process")),
            forward_call=TracedCall.from_dict(traced.get("forward")),
            backward_call=TracedCall.from_dict(traced.get("backward")),
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> ProfileReport:
        return cls.from_dict(json.loads(text))


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


def _process_memory(data: Mapping[str, Any] | None) -> ProcessMemory | None:
    if not data:
        return None
    return ProcessMemory(int(data["peak_rss_before"]), int(data["peak_rss_after"]))


def keras_paths(report: Report) -> dict[str, list[str]]:
    """Each layer's path of Keras names (``sequential_3/conv2d_5``) -> the stable paths of the
    layers it names, in report order: how a live layer found during a call is matched to its row."""
    named: dict[str, str] = {}
    found: dict[str, list[str]] = {}
    for layer in report.layers:
        parent = named.get(layer.parent or "", "")
        named[layer.path] = f"{parent}/{layer.name}" if parent else layer.name
        found.setdefault(named[layer.path], []).append(layer.path)
    return found
