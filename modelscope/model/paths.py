"""Stable layer paths: names that do not depend on what else was built in the process (pure).

A layer's path is the attribute its parent holds it under (``fe``), else its Keras name, with
Keras's automatic names renumbered within each parent (``dense_7`` becomes ``dense`` if it is
the parent's first automatically named Dense, ``dense_1`` if the second). So the same model
class built twice in one process gets the same paths (``fe/conv2d``, never
``sequential_8/conv2d_8``), and snapshots, diffs and tests do not depend on test order.
Names the user chose stay as they are; a clash between siblings is resolved by a suffix.
:func:`build_report` gives every report these paths (schema 2); the Keras name is the
layer's ``name``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

_AUTO_SUFFIX = re.compile(r"_\d+$")


class NamedLayer(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def attr(self) -> str | None: ...
    @property
    def cls(self) -> str: ...
    @property
    def parent(self) -> str | None: ...


def snake_case(name: str) -> str:
    """Keras's automatic layer-name prefix for a class name (``MaxPooling2D`` -> ``max_pooling2d``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def automatic_base(name: str, cls: str) -> str | None:
    """The class prefix when ``name`` is one Keras made up (``dense``, ``dense_7``), else None."""
    base = snake_case(cls)
    if base and (name == base or _AUTO_SUFFIX.sub("", name) == base):
        return base
    return None


def stable_path_map(layers: Iterable[NamedLayer]) -> dict[str, str]:
    """Each layer's current path -> its stable path (layers parents first, in call order)."""
    siblings: dict[str, list[NamedLayer]] = {}
    for layer in layers:
        siblings.setdefault(layer.parent or "", []).append(layer)
    stable: dict[str, str] = {}
    for parent, group in siblings.items():  # parents come first, so their stable path is known
        prefix = stable.get(parent, parent if parent else "")
        for layer, part in zip(group, _parts(group)):
            stable[layer.path] = f"{prefix}/{part}" if prefix else part
    return stable


def _parts(group: list[NamedLayer]) -> list[str]:
    """Stable names of one parent's children: chosen names kept, automatic ones renumbered."""
    chosen = [None if layer.attr is None and automatic_base(layer.name, layer.cls) else layer.attr or layer.name
              for layer in group]  # fmt: skip
    taken: set[str] = set()
    parts: list[str] = []
    for layer, name in zip(group, chosen):
        if name is None:
            parts.append("")
            continue
        parts.append(_free((name or snake_case(layer.cls) or "layer").replace("/", "_"), taken))  # "/" only nests
    counters: dict[str, int] = {}
    for i, (layer, name) in enumerate(zip(group, chosen)):
        if name is None:
            base = automatic_base(layer.name, layer.cls) or "layer"
            while True:
                k = counters.get(base, 0)
                counters[base] = k + 1
                candidate = base if k == 0 else f"{base}_{k}"
                if candidate not in taken:
                    break
            taken.add(candidate)
            parts[i] = candidate
    return parts


def _free(name: str, taken: set[str]) -> str:
    """``name``, or ``name#2``, ``name#3``… if a sibling has it already (as the tracer marks two
    distinct layers of one name)."""
    candidate, k = name, 1
    while candidate in taken:
        k += 1
        candidate = f"{name}#{k}"
    taken.add(candidate)
    return candidate


def stable_paths(report: HasLayers) -> dict[str, str]:
    """Each layer's path -> its stable path: the identity for reports of schema 2 and later,
    whose paths are stable already (kept for ``modelscope.testing.stable_paths`` users)."""
    return stable_path_map(report.layers)


class HasLayers(Protocol):
    @property
    def layers(self) -> Iterable[NamedLayer]: ...
