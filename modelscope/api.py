"""The Python API behind ``modelscope.inspect``: the pipeline load -> trace -> report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from modelscope.errors import LoadError
from modelscope.inputs import InputSpec, make_input_spec
from modelscope.report import Report, build_report


def load_report(source: str, spec: InputSpec, object_name: str | None = None) -> Report:
    """The report for a source: a saved report JSON is read as is (no TensorFlow)."""
    from modelscope.load.source import parse_source

    ref = parse_source(source, object_name)
    if ref.kind == "report":
        try:
            return Report.from_json(Path(ref.target).read_text(encoding="utf-8"))
        except (ValueError, KeyError, TypeError) as e:
            raise LoadError(f"{source}: not a modelscope report JSON ({e})") from e
    from modelscope.load import load_model
    from modelscope.trace import trace_model

    return build_report(trace_model(load_model(ref), spec, ref.label))


def inspect(
    model_or_source: Any,
    input_shape: Any = None,
    dtype: Any = None,
    *,
    object: str | None = None,  # noqa: A002 - mirrors the CLI's --object
) -> Report:
    """Build and trace a model, returning its :class:`~modelscope.report.Report`.

    ``model_or_source`` is a Keras model, or a source as the CLI takes it: ``file.py``,
    ``file.py:attr``, ``package.module:attr``, ``model.keras``, a saved report ``.json``.
    ``input_shape`` is a shape (``(None, 28, 28, 1)`` or ``"None,28,28,1"``), a list of
    shapes, or a dict name -> shape; ``dtype`` likewise.
    """
    spec = make_input_spec(input_shape, dtype)
    if isinstance(model_or_source, (str, os.PathLike)):
        return load_report(os.fspath(model_or_source), spec, object)
    from modelscope._keras import import_keras
    from modelscope.trace import trace_model

    import_keras()
    return build_report(trace_model(model_or_source, spec, None))


def graph(
    model_or_source: Any,
    input_shape: Any = None,
    dtype: Any = None,
    *,
    object: str | None = None,  # noqa: A002
    format: str = "svg",  # noqa: A002
    **options: Any,
) -> str | bytes:
    """The model's graph: SVG or DOT text, PNG or PDF bytes. Options as the CLI's ``graph``."""
    from modelscope.graphviz_render import render_graph

    report = model_or_source if isinstance(model_or_source, Report) else inspect(
        model_or_source, input_shape, dtype, object=object
    )
    data = render_graph(report.to_dot(**options), format)
    return data.decode("utf-8") if format in ("svg", "dot") else data
