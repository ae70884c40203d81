"""Stable layer paths: names that do not depend on what else was built in the process (pure).

A layer is named by the attribute its parent holds it under (``fe``), else by its Keras name,
with Keras's automatic names renumbered within each parent (``dense_7`` becomes ``dense`` if it
is the parent's first Dense, ``dense_1`` if the second), so snapshots and differences do not
depend on how many models the session built before, nor on test order.
"""

from __future__ import annotations

import re

from modelscope.model.report import Report

_AUTO_SUFFIX = re.compile(r"_\d+$")


def snake_case(name: str) -> str:
    """Keras's automatic layer-name prefix for a class name (``MaxPooling2D`` -> ``max_pooling2d``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def stable_paths(report: Report) -> dict[str, str]:
    """Each layer's path -> its stable path (see the module docstring)."""
    stable: dict[str, str] = {}
    seen: dict[tuple[str, str], int] = {}
    for layer in report.layers:
        part = layer.attr or layer.name
        base = snake_case(layer.cls)
        if not layer.attr and (part == base or (_AUTO_SUFFIX.sub("", part) == base and base)):
            k = seen.get((layer.parent or "", base), 0)
            seen[(layer.parent or "", base)] = k + 1
            part = base if k == 0 else f"{base}_{k}"
        parent = stable.get(layer.parent or "", "")
        stable[layer.path] = f"{parent}/{part}" if parent else part
    return stable
