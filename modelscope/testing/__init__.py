"""Assertions on what a model is, for tests: parameter counts, budgets, architecture snapshots.

Everything but loading works on a :class:`~modelscope.model.report.Report`, so a saved report JSON is
checked without TensorFlow. Layers are named by their report paths, which are *stable*
(:mod:`modelscope.model.paths`): attribute names where the parent holds a layer under one
(``fe/conv2d``), and Keras's automatic names renumbered within each parent (``dense_7`` ->
``dense_1`` when it is the parent's second Dense), so figures and snapshots do not depend on
how many models a test session built before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelscope.model.paths import stable_paths as stable_paths  # public here since 0.1
from modelscope.model.report import Report
from modelscope.render.fmt import count, inline_shapes

if TYPE_CHECKING:  # the pytest plugin imports this package in every pytest run: no NumPy at import
    from modelscope.analysis.diff import Entry, LayerChange

SNAPSHOT_SCHEMA = "modelscope.snapshot/1"


class ModelscopeMismatch(AssertionError):
    """A model that is not what the test expects; the message says how, figure by figure."""


def _keras_name_hint(report: Report, name: str) -> str:
    """For a name that is a Keras name rather than a stable path: which stable path it is."""
    try:
        layer = report.layer(name)
    except KeyError:
        return ""
    return f" ({name!r} is a Keras name, which depends on what else the process built: use {layer.path!r})"


def _delta(expected: int, actual: int) -> str:
    return f"({actual - expected:+,})"


def check_params(report: Report, *, total: int | None = None, trainable: int | None = None,
                 non_trainable: int | None = None, layers: Mapping[str, int] | None = None,
                 max_params: int | None = None, max_bytes: int | None = None) -> list[str]:  # fmt: skip
    """What differs from the expected figures, one line each; empty when all agree."""
    t = report.totals
    problems = []
    for label, expected, actual in (("total params", total, t.params), ("trainable params", trainable, t.trainable),
                                    ("non-trainable params", non_trainable, t.non_trainable)):  # fmt: skip
        if expected is not None and expected != actual:
            problems.append(f"{label:<22} expected {count(expected):>12}   actual {count(actual):>12}   "
                            f"{_delta(expected, actual)}")  # fmt: skip
    for label, option, limit, actual in (("params", "max_params", max_params, t.params),
                                         ("parameter bytes", "max_bytes", max_bytes, t.bytes)):  # fmt: skip
        if limit is not None and actual > limit:
            problems.append(f"{label} {count(actual)} exceed {option}={count(limit)} by {count(actual - limit)}")
    if layers:
        index = {l.path: l for l in report.layers}
        rows, missing = [], []
        for name, expected in layers.items():
            layer = index.get(name)
            if layer is None:
                missing.append(name)
            elif layer.params != expected:
                rows.append((name, count(expected), count(layer.params), _delta(expected, layer.params)))
        if rows:
            width = max(len("layer"), *(len(r[0]) for r in rows))
            problems.append("layers whose parameter counts differ:")
            problems.append(f"  {'layer':<{width}}   {'expected':>12}   {'actual':>12}")
            problems += [f"  {r[0]:<{width}}   {r[1]:>12}   {r[2]:>12}   {r[3]}" for r in rows]
        known = ", ".join(index)
        for name in missing:
            problems.append(f"no layer {name!r} in the model{_keras_name_hint(report, name)}; its layers are: {known}")
    if problems and not layers and any(x is not None for x in (total, trainable, non_trainable)):
        problems.append("largest layers now: " + _largest(report))
    return problems


def _largest(report: Report, limit: int = 8) -> str:
    """The layers without sublayers that hold the most parameters, for locating a change."""
    parents = {l.parent for l in report.layers}
    leaves = sorted((l for l in report.layers if l.path not in parents and l.params), key=lambda l: -l.params)
    shown = [f"{l.path} {count(l.params)}" for l in leaves[:limit]]
    return " · ".join(shown) + (" · ..." if len(leaves) > limit else "") + " (pin them with layers={...})"


def inspect_for_test(model_or_source: Any, input_shape: Any = None, dtype: Any = None, **options: Any) -> Report:
    """A Report as is, or one from :func:`modelscope.inspect` (TensorFlow only for live models)."""
    if isinstance(model_or_source, Report):
        return model_or_source
    from modelscope.api import inspect

    return inspect(model_or_source, input_shape, dtype, **options)


def assert_params(model_or_source: Any, *, input_shape: Any = None, dtype: Any = None, total: int | None = None,
                  trainable: int | None = None, non_trainable: int | None = None,
                  layers: Mapping[str, int] | None = None, max_params: int | None = None,
                  max_bytes: int | None = None, label: str | None = None, **options: Any) -> Report:  # fmt: skip
    """Check a model's parameter counts and budgets; raise :class:`ModelscopeMismatch` saying,
    for each figure that differs, the expected and actual values (and a table for layers).

    ``model_or_source``: a Keras model, a source as the CLI takes it, or a Report. ``layers``
    maps layer paths (the report's stable paths: ``"fe/conv2d"``) to parameter counts.
    ``label`` names the model in the message (default: the source given). Returns the report.
    """
    __tracebackhide__ = True
    report = inspect_for_test(model_or_source, input_shape, dtype, **options)
    problems = check_params(report, total=total, trainable=trainable, non_trainable=non_trainable, layers=layers,
                            max_params=max_params, max_bytes=max_bytes)  # fmt: skip
    if problems:
        if label is None and isinstance(model_or_source, (str, os.PathLike)):
            label = os.fspath(model_or_source)
        raise ModelscopeMismatch(mismatch_message(report, problems, label))
    return report


def mismatch_message(report: Report, problems: list[str], label: str | None = None) -> str:
    label = label or report.model.source or report.model.name
    return f"modelscope: {label} is not what the test expects:\n" + "\n".join(f"  {p}" for p in problems)


# -- architecture snapshots --------------------------------------------------------------------


def snapshot_of(report: Report) -> dict[str, Any]:
    """What a snapshot pins: classes, shapes and parameter counts by stable path, and the totals
    (no names Keras makes up, no timings, no paths on disk)."""
    t = report.totals

    def shapes(items: tuple) -> list[dict[str, Any]]:
        return [{"shape": None if i.shape is None else list(i.shape), "dtype": i.dtype} for i in items]

    return {
        "schema": SNAPSHOT_SCHEMA,
        "model": {"class": report.model.cls, "kind": report.model.kind},
        "inputs": shapes(report.inputs),
        "outputs": shapes(report.outputs),
        "totals": {"params": t.params, "trainable": t.trainable, "non_trainable": t.non_trainable},
        "layers": [
            {"path": l.path, "class": l.cls, "params": l.params, "trainable": l.trainable,
             "input_shapes": [None if s is None else list(s) for s in l.input_shapes],
             "output_shapes": [None if s is None else list(s) for s in l.output_shapes]}
            for l in report.layers
        ],
    }  # fmt: skip


SNAPSHOT_KEYS = ("schema", "model", "inputs", "outputs", "totals", "layers")


def dump_snapshot(data: Mapping[str, Any]) -> str:
    """JSON with one top-level key per line and one layer per line (keys sorted within), so a
    snapshot diffs well in review."""
    head = [f"  {json.dumps(k)}: {json.dumps(data[k], sort_keys=True)}" for k in SNAPSHOT_KEYS[:-1] if k in data]
    layers = ",\n".join("    " + json.dumps(layer, sort_keys=True) for layer in data.get("layers", []))
    return "{\n" + ",\n".join(head) + f',\n  "layers": [\n{layers}\n  ]\n}}\n'


def _totals_line(old: Mapping[str, int], new: Mapping[str, int]) -> str | None:
    parts = []
    split_changed = old.get("non_trainable", 0) != new.get("non_trainable", 0)
    for key in ("params", "trainable", "non_trainable") if split_changed else ("params",):  # the split: news only
        a, b = old.get(key, 0), new.get(key, 0)
        if a != b:
            pct = f", {(b - a) / a:+.2%}" if a else ""
            parts.append(f"{key} {count(a)} -> {count(b)} ({b - a:+,}{pct})")
    return "totals: " + "; ".join(parts) if parts else None


def _snapshot_entries(data: Mapping[str, Any]) -> list[Entry]:
    from modelscope.analysis.diff import Entry

    def shapes(items: Any) -> tuple[Any, ...]:
        return tuple(None if s is None else tuple(s) for s in items or ())

    return [
        Entry(l["path"], l["class"], l["path"].count("/") + 1, l["params"], l["params"], l["trainable"],
              shapes(l.get("input_shapes")), shapes(l.get("output_shapes")))
        for l in data.get("layers", [])
    ]  # fmt: skip


def snapshot_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Layer-by-layer differences, ``+`` added, ``-`` removed, ``~`` changed; empty when equal.
    The comparison is :func:`modelscope.analysis.diff.compare`'s (total parameters and the
    trainable split, exact stable paths)."""
    from modelscope.analysis.diff import compare

    changes = compare(_snapshot_entries(old), _snapshot_entries(new), rename=False, own=False, split=True)
    width = max((len(c.path) for c in changes), default=0)
    cls = max((len(name or "") for c in changes for name in c.cls), default=0)
    lines = []
    for c in changes:
        name = c.cls[1] if c.status != "removed" else c.cls[0]
        shapes, params = (
            (c.output_shapes[0], c.params[0]) if c.status == "removed" else (c.output_shapes[1], c.params[1])
        )
        if c.status in ("added", "removed"):
            mark = "+" if c.status == "added" else "-"
            lines.append(
                f"{mark} {c.path:<{width}}  {name:<{cls}}  {inline_shapes(shapes)}, {count(params or 0)} params"
            )
        elif c.status == "changed":
            lines.append(f"~ {c.path:<{width}}  {name:<{cls}}  " + "; ".join(_changed(c)))
    for key in ("model", "inputs", "outputs"):
        if old.get(key) != new.get(key):
            lines.append(f"{key}: {json.dumps(old.get(key))} -> {json.dumps(new.get(key))}")
    totals = _totals_line(old.get("totals", {}), new.get("totals", {}))
    if totals:
        lines.append(totals)
    return lines


def _changed(c: LayerChange) -> list[str]:
    (was_cls, cls), (was, now), (was_t, now_t) = c.cls, c.params, c.trainable
    out = [f"class {was_cls} -> {cls}"] if was_cls != cls else []
    grew = (now or 0) - (was or 0)
    if grew:
        out.append(f"params {count(was or 0)} -> {count(now or 0)} ({grew:+,})")
    if (now_t or 0) - (was_t or 0) != grew:  # said only when it is news
        out.append(f"trainable {count(was_t or 0)} -> {count(now_t or 0)}")
    for shapes, label in ((c.input_shapes, "input"), (c.output_shapes, "output")):
        if shapes[0] != shapes[1]:
            out.append(f"{label} {inline_shapes(shapes[0])} -> {inline_shapes(shapes[1])}")
    return out
