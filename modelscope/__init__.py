"""modelscope: see what your Keras models really are.

``import modelscope`` is light: TensorFlow is imported only when a model is loaded or traced.
"""

from __future__ import annotations

from typing import Any

from modelscope.errors import ModelscopeError
from modelscope.report import Report

__all__ = ["ModelscopeError", "Report", "__version__", "inspect"]
__version__ = "0.1.0"


def inspect(
    model_or_source: Any, input_shape: Any = None, dtype: Any = None, *, object: str | None = None  # noqa: A002
) -> Report:
    """Build and trace a model and return its report; see :func:`modelscope.api.inspect`."""
    from modelscope.api import inspect as _inspect

    return _inspect(model_or_source, input_shape, dtype, object=object)
