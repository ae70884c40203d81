"""modelscope: see what your Keras models really are.

``import modelscope`` is light: TensorFlow is imported only when a model is loaded or traced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelscope.errors import ModelscopeError

if TYPE_CHECKING:
    from modelscope.model.report import Report

__all__ = ["ModelscopeError", "Report", "__version__", "graph", "inspect"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``modelscope.Report`` on first use: the pytest plugin imports this package in every pytest
    run, and the report module's dataclasses take tens of milliseconds to build."""
    if name == "Report":
        from modelscope.model.report import Report

        return Report
    raise AttributeError(f"module 'modelscope' has no attribute {name!r}")


def inspect(model_or_source: Any, input_shape: Any = None, dtype: Any = None, **options: Any) -> Report:
    """Build and trace a model and return its report; see :func:`modelscope.api.inspect` (options:
    ``object``, ``unsafe``, ``imports``, ``signature``)."""
    from modelscope.api import inspect as _inspect

    return _inspect(model_or_source, input_shape, dtype, **options)


def graph(model_or_source: Any, input_shape: Any = None, dtype: Any = None, **options: Any) -> str | bytes:
    """Draw a model (or a Report): SVG text by default; see :func:`modelscope.api.graph`."""
    from modelscope.api import graph as _graph

    return _graph(model_or_source, input_shape, dtype, **options)
