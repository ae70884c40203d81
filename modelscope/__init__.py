"""modelscope: see what your Keras models really are.

Where you would write ``model.summary()``::

    import modelscope
    modelscope.summary(model, input_shape=(None, 28, 28, 1))

``inspect`` returns the :class:`Report`; ``summary``, ``stats``, ``diff`` and ``graph`` show or
return what the commands of the same names print. ``%load_ext modelscope`` adds the
``%modelscope`` magic to a notebook.

``import modelscope`` is light: the functions are imported on first use (from
:mod:`modelscope.api`, with their full signatures), TensorFlow only when a model is loaded or
traced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelscope.errors import ModelscopeError

if TYPE_CHECKING:
    from modelscope.api import diff, graph, inspect, profile, stats, summary
    from modelscope.model.report import Report

__all__ = ["ModelscopeError", "Report", "__version__", "diff", "graph", "inspect", "profile", "stats", "summary"]
__version__ = "0.1.0"

_LAZY = {"Report": "modelscope.model.report", "inspect": "modelscope.api", "summary": "modelscope.api",
         "stats": "modelscope.api", "diff": "modelscope.api", "graph": "modelscope.api",
         "profile": "modelscope.api"}  # fmt: skip


def __getattr__(name: str) -> Any:
    """The public names on first use: the pytest plugin imports this package in every pytest
    run, and the report and API modules take tens of milliseconds to import."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'modelscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext modelscope``: registers the ``%modelscope`` magic (see :mod:`modelscope.magic`)."""
    from modelscope.magic import register

    register(ipython)
