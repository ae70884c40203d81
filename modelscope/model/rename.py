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
_AUTO_VARIABLE = re.compile(r"variable(_\d+)?")
_NUMBERED = re.compile(r"\w+_\d+")


def renamed(result: T) -> T:
    """``result`` (a TracedModel or a Report) with every layer path made stable."""
    r: Any = result
    layers = r.layers
    mapping = stable_path_map(layers)
    variables = _variable_paths(r.variables, mapping)
    name = automatic_base(r.model.name, r.model.cls) or r.model.name
    inputs = _input_names([i.name for i in r.inputs])
    outputs = _output_names(r.outputs, layers, mapping)
    unchanged = name == r.model.name and inputs == [i.name for i in r.inputs]
    unchanged = unchanged and outputs == [o.name for o in r.outputs] and variables == [v.path for v in r.variables]
    if unchanged and all(k == v for k, v in mapping.items()):
        return result

    def path(p: str) -> str:
        return mapping.get(p, p)

    def paths(items: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(path(p) for p in items)

    def warning(text: str) -> str:
        return _QUOTED.sub(lambda m: repr(mapping[m.group(1)]) if m.group(1) in mapping else m.group(0), text)

    changes = dict(
        model=replace(r.model, name=name),
        layers=tuple(replace(l, path=path(l.path), parent=None if l.parent is None else path(l.parent))
                     for l in layers),
        edges=tuple(replace(e, src=path(e.src), dst=path(e.dst)) for e in r.edges),
        variables=tuple(replace(v, path=p, layer=path(v.layer)) for v, p in zip(r.variables, variables)),
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
    """An output named after a layer (the one that produces it, or the block holding that one)
    takes the layer's stable path, when one layer has that Keras name."""
    by_name: dict[str, list[str]] = {}
    parent_of: dict[str, str | None] = {}
    for layer in layers:
        by_name.setdefault(layer.name, []).append(layer.path)
        parent_of[layer.path] = layer.parent
    names = []
    for o in outputs:
        named = by_name.get(o.name, [])
        near = [p for p in named if any(_within(producer, p, parent_of) for producer in o.producers)]
        chosen = near if near else named
        if len(chosen) == 1:
            names.append(mapping[chosen[0]])
        elif len(o.producers) == 1 and _NUMBERED.fullmatch(o.name):  # a Keras-numbered name of no one layer here
            names.append(mapping.get(o.producers[0], o.producers[0]))
        else:
            names.append(o.name)
    return names


def _within(path: str, ancestor: str, parent_of: dict[str, str | None]) -> bool:
    """``path`` is ``ancestor`` or lies inside it."""
    current: str | None = path
    while current is not None:
        if current == ancestor:
            return True
        current = parent_of.get(current)
    return False


def _variable_paths(variables: Any, mapping: dict[str, str]) -> list[str]:
    """The owning layer's stable path and the variable's name, Keras's automatic names
    (``variable_12``, a ``keras.Variable`` made without a name) numbered within the layer."""
    counters: dict[str, int] = {}
    paths = []
    for v in variables:
        if not v.layer or not v.path.startswith(v.layer + "/"):
            paths.append(v.path)
            continue
        own = v.path[len(v.layer) + 1 :]
        if _AUTO_VARIABLE.fullmatch(own):
            k = counters.get(v.layer, 0)
            counters[v.layer] = k + 1
            own = "variable" if k == 0 else f"variable_{k}"
        paths.append(f"{mapping.get(v.layer, v.layer)}/{own}")
    return paths
