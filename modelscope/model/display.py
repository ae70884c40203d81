"""How a report shows itself (``report.to_dot()``, Jupyter) while this layer knows no renderer.

The renderers live above the model in the pipeline (``modelscope.render``), so the model never
imports them: ``modelscope.render.display`` registers them here, and the first request for one
imports that module by name. This is the pipeline's one upward reference, on purpose: a report
read back with ``Report.from_json`` in a fresh notebook displays without any set-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

_RENDERERS: dict[str, Callable[..., Any]] = {}


def register(name: str, render: Callable[..., Any]) -> None:
    _RENDERERS[name] = render


def renderer(name: str) -> Callable[..., Any]:
    """The renderer registered as ``name`` (``dot``, ``shown``, ``describe``)."""
    if name not in _RENDERERS:
        importlib.import_module("modelscope.render.display")
    return _RENDERERS[name]


class Displayed:
    """How a result shows itself: HTML in a notebook, the table when printed, one line in
    ``repr``. Reports, stats results and comparisons derive from this (as dataclasses with
    ``repr=False``, so this ``__repr__`` stays)."""

    def _repr_html_(self) -> str:
        return str(renderer("shown")(self)._repr_html_())

    def __rich__(self) -> Any:
        """``rich.print(result)`` prints the table, styled, at the console's width."""
        return renderer("shown")(self)

    def __str__(self) -> str:
        return str(renderer("shown")(self))

    def __repr__(self) -> str:
        return str(renderer("describe")(self))
