"""The Python API behind ``modelscope.inspect``: the pipeline load -> trace -> report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from modelscope.errors import LoadError, UsageError
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
    return _trace_source(ref, spec)[1]


def _trace_source(ref: Any, spec: InputSpec) -> tuple[Any, Report]:
    from modelscope.load import load_model
    from modelscope.trace import trace_model

    model = load_model(ref)
    return model, build_report(trace_model(model, spec, ref.label))


def load_traced(source: Any, spec: InputSpec, object_name: str | None = None) -> tuple[Any, Report]:
    """The live model and its report, for work that needs the weights' values."""
    from modelscope._keras import import_keras
    from modelscope.trace import trace_model

    if not isinstance(source, (str, os.PathLike)):
        import_keras()
        return source, build_report(trace_model(source, spec, None))
    from modelscope.load.source import parse_source

    ref = parse_source(os.fspath(source), object_name)
    if ref.kind == "report":
        raise UsageError(f"{source}: a saved report holds no weight values; give the model itself")
    return _trace_source(ref, spec)


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
    return load_traced(model_or_source, spec)[1]


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


def stats(
    model_or_source: Any,
    input_shape: Any = None,
    dtype: Any = None,
    *,
    object: str | None = None,  # noqa: A002
    weights: str | None = None,
    bins: int = 16,
    spectral: bool = True,
    thresholds: Any = None,
) -> Any:
    """Weight statistics and health flags (a :class:`modelscope.stats.StatsReport`).

    ``weights`` loads a ``.weights.h5`` file (``model.save_weights``) into the built model first.
    """
    from modelscope.stats import Thresholds, compute_stats
    from modelscope.trace.weights import load_weights, variable_values

    model, report = load_traced(model_or_source, make_input_spec(input_shape, dtype), object)
    if weights:
        load_weights(model, weights)
    return compute_stats(report, variable_values(model, report), bins=bins, spectral_metrics=spectral,
                         thresholds=thresholds or Thresholds())  # fmt: skip
