"""The tracer's output and how it becomes a Report: totals, per-layer counts and costs, computed
once here (pure; no TensorFlow)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modelscope.model.rename import renamed
from modelscope.model.report import (
    CallEdge,
    CallInfo,
    Cost,
    Edge,
    InputInfo,
    LayerInfo,
    ModelInfo,
    OutputInfo,
    Report,
    SignatureInfo,
    Totals,
    VariableInfo,
)
from modelscope.model.shapes import Shape


@dataclass(frozen=True)
class TracedLayer:
    """What the tracer saw of one layer; ``variables`` index into ``TracedModel.variables``
    and include the variables of its sublayers (a shared variable appears in several layers)."""

    path: str
    name: str
    attr: str | None
    cls: str
    depth: int
    parent: str | None
    input_shapes: tuple[Shape | None, ...]
    output_shapes: tuple[Shape | None, ...]
    calls: int
    built: bool
    variables: tuple[int, ...]
    cost: Cost | None = None  # own cost of all calls (sublayers' added unless ``cost_covers_children``)
    cost_covers_children: bool = False
    activation_bytes: int | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TracedModel:
    """The tracer's output: facts only, no totals. :func:`build_report` turns it into a Report."""

    model: ModelInfo
    inputs: tuple[InputInfo, ...]
    outputs: tuple[OutputInfo, ...]
    layers: tuple[TracedLayer, ...]
    edges: tuple[Edge, ...]
    variables: tuple[VariableInfo, ...]  # every variable of the model, each once
    model_variables: tuple[int, ...]  # the variables Keras counts for the model itself
    calls: tuple[CallInfo, ...] = ()
    call_edges: tuple[CallEdge, ...] = ()
    signatures: tuple[SignatureInfo, ...] = ()
    own_cost: Cost | None = None  # the model's own raw ops (None: costs not computed)
    warnings: tuple[str, ...] = ()


def build_report(traced: TracedModel) -> Report:
    """Compute per-layer and total counts; each variable counts once wherever it is shared.
    Layer paths become stable paths here (:mod:`modelscope.model.paths`)."""
    traced = renamed(traced)
    variables = traced.variables

    def count(indices: Sequence[int]) -> tuple[int, int, int]:
        unique = set(indices)
        total = sum(variables[i].count for i in unique)
        trainable = sum(variables[i].count for i in unique if variables[i].trainable)
        size = sum(variables[i].bytes for i in unique)
        return total, trainable, size

    model_vars = set(traced.model_variables)
    trainable_bytes = sum(variables[i].bytes for i in model_vars if variables[i].trainable)

    costs = _costs(traced)
    layers = []
    for t in traced.layers:
        params, trainable, size = count(t.variables)
        cost = costs.get(t.path)
        layers.append(
            LayerInfo(
                path=t.path, name=t.name, attr=t.attr, cls=t.cls,
                depth=t.depth, parent=t.parent,
                input_shapes=t.input_shapes, output_shapes=t.output_shapes,
                params=params, trainable=trainable, non_trainable=params - trainable,
                bytes=size, calls=t.calls, built=t.built,
                macs=cost.macs if cost else None, flops=cost.flops if cost else None,
                activation_bytes=t.activation_bytes, cost_note=cost.note if cost else "", config=t.config,
            )
        )  # fmt: skip
    params, trainable, size = count(traced.model_variables)
    totals = Totals(params, trainable, params - trainable, size, trainable_bytes, *_cost_totals(traced))
    return Report(
        model=traced.model,
        inputs=traced.inputs,
        outputs=traced.outputs,
        totals=totals,
        layers=tuple(layers),
        edges=traced.edges,
        variables=variables,
        calls=traced.calls,
        call_edges=traced.call_edges,
        signatures=traced.signatures,
        warnings=traced.warnings,
    )


def _costs(traced: TracedModel) -> dict[str, Cost]:
    """Each layer's cost with its sublayers': unknown (None) when its own or a sublayer's is."""
    children: dict[str | None, list[TracedLayer]] = {}
    for t in traced.layers:
        children.setdefault(t.parent, []).append(t)
    result: dict[str, Cost] = {}

    def visit(t: TracedLayer) -> Cost | None:
        kids = [visit(c) for c in children.get(t.path, [])]
        if t.cost is None:
            return None
        parts = [t.cost] + ([] if t.cost_covers_children else [k for k in kids if k is not None])
        unknown = [p for p in parts if p.macs is None or p.flops is None]
        if unknown:
            note = t.cost.note if t.cost.macs is None else "a sublayer's cost is unknown"
            cost = Cost(None, None, note)
        else:
            cost = Cost(sum(p.macs for p in parts), sum(p.flops for p in parts), t.cost.note)  # type: ignore[misc]
        result[t.path] = cost
        return cost

    for top in children.get(None, []):
        visit(top)
    return result


def _cost_totals(traced: TracedModel) -> tuple[int | None, int | None, int | None, tuple[str, ...]]:
    """Totals over every layer's own cost, counted once; the layers left out for being unknown."""
    if traced.own_cost is None:
        return None, None, None, ()
    parents = {t.parent for t in traced.layers}
    covered = {t.path for t in traced.layers if t.cost_covers_children}

    def inside_covered(path: str) -> bool:  # a sublayer of a layer whose formula includes it
        parts = path.split("/")
        return any("/".join(parts[:i]) in covered for i in range(1, len(parts)))

    macs, flops, act, uncounted = 0, 0, 0, []
    counted = [t for t in traced.layers if not inside_covered(t.path)]
    for path, cost in [*((t.path, t.cost) for t in counted if t.cost is not None), ("", traced.own_cost)]:
        if cost.macs is None or cost.flops is None:
            uncounted.append(path or "(the model's own ops)")
        else:
            macs, flops = macs + cost.macs, flops + cost.flops
    for t in counted:
        if (t.path not in parents or t.path in covered) and t.activation_bytes:
            act += t.activation_bytes
    return macs, flops, act, tuple(uncounted)
