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


def inspect(
    model_or_source: Any,
    input_shape: Any = None,
    dtype: Any = None,
    *,
    object: str | None = None,  # noqa: A002 - mirrors the CLI's --object
    unsafe: bool = False,
    imports: tuple[str, ...] = (),
    signature: str | None = None,
    method: str | None = None,
) -> Report:
    """Build and trace a model and return its report; see :func:`modelscope.api.inspect`."""
    from modelscope.api import inspect as _inspect

    return _inspect(model_or_source, input_shape, dtype, object=object, unsafe=unsafe, imports=imports,
                    signature=signature, method=method)  # fmt: skip


def graph(
    model_or_source: Any,
    input_shape: Any = None,
    dtype: Any = None,
    *,
    object: str | None = None,  # noqa: A002
    format: str = "svg",  # noqa: A002
    depth: int | None = None,
    rankdir: str = "TB",
    show_input_shapes: bool = False,
    edge_shapes: bool = False,
    legend: bool = True,
    unroll: bool = False,
    macs: bool = False,
    unsafe: bool = False,
    imports: tuple[str, ...] = (),
    signature: str | None = None,
    method: str | None = None,
) -> str | bytes:
    """Draw a model (or a Report): SVG text by default; see :func:`modelscope.api.graph`."""
    from modelscope.api import graph as _graph

    return _graph(model_or_source, input_shape, dtype, object=object, format=format, depth=depth, rankdir=rankdir,
                  show_input_shapes=show_input_shapes, edge_shapes=edge_shapes, legend=legend, unroll=unroll,
                  macs=macs, unsafe=unsafe, imports=imports, signature=signature, method=method)  # fmt: skip
