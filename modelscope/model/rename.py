"""Giving a traced model or a report stable paths (:mod:`modelscope.model.paths`), everywhere
a path appears: layers, parents, edges, variables, calls, inputs' consumers, outputs'
producers, uncounted layers and the warnings that quote a layer; the model's name without
Keras's automatic number (``cnn__model_3`` -> ``cnn__model``), inputs Keras named itself as
``input``, and outputs named after their layer by its stable path (pure)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, TypeVar

from modelscope.model.paths import automatic_base, stable_path_map

T = TypeVar("T")
_QUOTED = re.compile(r"'([^'\n]*)'")
_AUTO_INPUT = re.compile(r"(keras_tensor|input_layer)(_\d+)?")


def renamed(result: T) -> T:
    """``result`` (a TracedModel or a Report) with every layer path made stable."""
    r: Any = result
    layers = r.layers
    mapping = stable_path_map(layers)
    name = automatic_base(r.model.name, r.model.cls) or r.model.name
    inputs = _input_names([i.name for i in r.inputs])
    outputs = _output_names(r.outputs, layers, mapping)
    unchanged = name == r.model.name and inputs == [i.name for i in r.inputs]
    if unchanged and outputs == [o.name for o in r.outputs] and all(k == v for k, v in mapping.items()):
        return result

    def path(p: str) -> str:
        return mapping.get(p, p)

    def paths(items: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(path(p) for p in items)

    def variable_path(layer: str, full: str) -> str:
        return path(layer) + full[len(layer) :] if layer and full.startswith(layer + "/") else full

    def warning(text: str) -> str:
        return _QUOTED.sub(lambda m: repr(mapping[m.group(1)]) if m.group(1) in mapping else m.group(0), text)

    changes = dict(
        model=replace(r.model, name=name),
        layers=tuple(replace(l, path=path(l.path), parent=None if l.parent is None else path(l.parent))
                     for l in layers),
        edges=tuple(replace(e, src=path(e.src), dst=path(e.dst)) for e in r.edges),
        variables=tuple(replace(v, path=variable_path(v.layer, v.path), layer=path(v.layer))
                        for v in r.variables),
        calls=tuple(replace(c, layer=path(c.layer)) for c in r.calls),
        call_edges=tuple(replace(e, src=path(e.src), dst=path(e.dst))
                         for e in r.call_edges),
        inputs=tuple(replace(i, name=n, consumers=paths(i.consumers), ops_consumers=paths(i.ops_consumers))
                     for i, n in zip(r.inputs, inputs)),
        outputs=tuple(replace(o, name=n, producers=paths(o.producers)) for o, n in zip(r.outputs, outputs)),
        warnings=tuple(warning(w) for w in r.warnings),
    )  # fmt: skip
    totals = getattr(r, "totals", None)
    if totals is not None:
        changes["totals"] = replace(totals, uncounted=paths(totals.uncounted))
    return replace(r, **changes)  # type: ignore[no-any-return]


def _input_names(names: list[str]) -> list[str]:
    """Inputs Keras named itself (``keras_tensor_22``, ``input_layer_3``) become ``input`` (or
    ``input_0``, ``input_1``… by position); names the user gave stay."""
    several = len(names) > 1
    return [(f"input_{i}" if several else "input") if _AUTO_INPUT.fullmatch(n) else n for i, n in enumerate(names)]


def _output_names(outputs: Any, layers: Any, mapping: dict[str, str]) -> list[str]:
    """An output named after the layer that produces it takes that layer's stable path."""
    names = []
    for o in outputs:
        producer = next((l for l in layers if l.path in o.producers and l.name == o.name), None)
        names.append(mapping[producer.path] if producer is not None else o.name)
    return names
