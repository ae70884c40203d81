"""From a source (a path, a module, a live Keras model, a saved report) to what the API works on: an
``Opened`` (report, live model, values), each kind loaded and traced the way it needs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from modelscope.errors import CodeNeeded, LoadError, UsageError, first_line
from modelscope.load.opened import Opened
from modelscope.load.source import LoadOptions
from modelscope.model.inputs import InputSpec
from modelscope.model.report import Report
from modelscope.model.traced import build_report


def load_report(source: str, spec: InputSpec, object_name: str | None = None,
                options: LoadOptions | None = None) -> Report:  # fmt: skip
    """The report for a source: a saved report JSON is read as is (no TensorFlow)."""
    from modelscope.load.source import parse_source

    ref = parse_source(source, object_name)
    if ref.kind == "report":
        return read_report(ref)
    return open_ref(ref, spec, options or LoadOptions()).report


def read_report(ref: Any) -> Report:
    from modelscope.load.source import check_metadata_size

    path = Path(ref.target)
    check_metadata_size(path, "size", path.stat().st_size)
    try:
        return Report.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as e:
        raise LoadError(f"{ref.label}: not a modelscope report JSON ({type(e).__name__}: {e})") from e


@contextmanager
def user_code(label: str) -> Iterator[None]:
    """Run the model's own code (import, build, call): ``sys.exit()`` or a KeyboardInterrupt
    raised there is an error of the model (exit 1), never a silent success."""
    try:
        yield
    except SystemExit as e:
        raise LoadError(
            f"{label}: the model's code called sys.exit({e.code!r}) while it was loaded or traced; "
            "nothing was reported. Remove the exit from the code that builds or calls the model"
        ) from None
    except KeyboardInterrupt:
        raise LoadError(f"{label}: interrupted (KeyboardInterrupt) while the model's code ran") from None
    except Exception:
        raise
    except BaseException as e:  # GeneratorExit, or a class of the model's own deriving from BaseException
        raise LoadError(f"{label}: the model's code raised {type(e).__name__}: {e}") from None


def open_ref(ref: Any, spec: InputSpec, options: LoadOptions) -> Opened:
    with user_code(ref.label):
        return _open_any(ref, spec, options)


def _open_any(ref: Any, spec: InputSpec, options: LoadOptions) -> Opened:
    if ref.kind == "weights_file":  # a .weights.h5, or a sharded checkpoint's .weights.json: no TensorFlow
        from modelscope.load.weights_h5 import open_weights

        traced, values = open_weights(ref.target, ref.label)
        report = build_report(traced)
        return Opened(report, None, lambda: values(report.variables),
                      values_as_stored=lambda: values(report.variables, storage_order=True))  # fmt: skip
    if ref.kind == "savedmodel":
        from modelscope.load.savedmodel_source import open_savedmodel

        return open_savedmodel(ref, spec, options)
    if ref.kind == "keras_file":
        if options.no_code:
            return _open_without_code(ref, "--no-code")
        try:
            return _open_built(ref, spec, options)
        except CodeNeeded as e:
            return _open_without_code(ref, e.reason)
    return _open_built(ref, spec, options)


def _open_without_code(ref: Any, reason: str) -> Opened:
    """A model file read as data: its configuration and weights (``load/without_code.py``)."""
    from modelscope.load.without_code import read_without_code

    traced, values = read_without_code(ref.target, ref.label, reason)
    report = build_report(traced)
    return Opened(report, None, lambda: values(report.variables))


def _open_built(ref: Any, spec: InputSpec, options: LoadOptions) -> Opened:
    """A model built by Keras (from code, or from a file's configuration) and traced."""
    from modelscope.load import load

    light: Opened | Exception | None = None
    if ref.kind in ("pyfile", "module", "keras_file") and not options.materialize:
        light = _open_weightless(ref, spec, options)
        if isinstance(light, Opened):
            return light
    try:
        loaded = load(ref, options)
        opened = _open_model(loaded.model, spec, ref.label, loaded.weights_after_build)
    except Exception as e:
        if isinstance(light, Exception) and type(light) is type(e):
            raise light from None  # the model fails either way: report the first build's error (its names)
        raise
    opened = replace(opened, stored=ref.kind not in ("pyfile", "module"))
    if isinstance(light, Exception):
        note = ("built with real weights: the model's code needs variable values while it is built "
                f"({type(light).__name__}: {first_line(light)[:300]})")  # fmt: skip
        opened = replace(opened, report=replace(opened.report, warnings=(*opened.report.warnings, note)))
    return opened


def _open_weightless(ref: Any, spec: InputSpec, options: LoadOptions) -> Opened | Exception:
    """Build and trace a model from code, or from a model file's configuration, with no variable
    values (see ``trace/weightless.py``); else the error, for a second, normal build. A mistake of
    the user's own (a bad input shape) fails at once."""
    from modelscope._keras import import_keras
    from modelscope.errors import InputSpecError
    from modelscope.load import load
    from modelscope.trace.weightless import weightless

    import_keras()  # quietly, before anything imports TensorFlow
    try:
        with weightless():
            opened = _open_model(load(ref, options, values=False).model, spec, ref.label)
    except (UsageError, InputSpecError):
        raise
    except Exception as e:
        return e
    return replace(opened, values=_no_values, stored=False)


def _no_values() -> Iterator[tuple[Any, Any]]:
    raise LoadError("this model was built without its weights' values (a summary needs none); build it with "
                    "materialize=True (--materialize) to read them")  # fmt: skip


def _open_model(model: Any, spec: InputSpec, label: str | None, weights_after_build: str | None = None) -> Opened:
    from modelscope.trace import trace_model
    from modelscope.trace.weights import load_weights, variable_values

    report = build_report(trace_model(model, spec, label))
    if weights_after_build:
        load_weights(model, weights_after_build)
    return Opened(report, model, lambda: variable_values(model, report))


def open_source(source: Any, spec: InputSpec, object_name: str | None = None,
                options: LoadOptions | None = None) -> Opened:  # fmt: skip
    """Load and trace a source (or a live Keras model) for work that needs the weights' values."""
    if not isinstance(source, (str, os.PathLike)):
        _check_live(source)
        from modelscope._keras import import_keras

        import_keras()
        with user_code(f"the {type(source).__name__} model"):
            return _open_model(source, spec, None)
    from modelscope.load.source import parse_source

    ref = parse_source(os.fspath(source), object_name)
    if ref.kind == "report":
        raise UsageError(f"{source}: a saved report holds no weight values; give the model itself")
    return open_ref(ref, spec, options or LoadOptions())


def _check_live(model: Any) -> None:
    """A live model must be a built-or-buildable Keras layer or model, not a class or a tensor."""
    if isinstance(model, Report):
        raise UsageError("a Report holds no weight values; give the model itself (or its source)")
    if isinstance(model, type):
        raise UsageError(f"{model.__name__} is a class: give a model built from it ({model.__name__}(...))")
    if not callable(getattr(model, "call", None)) or not hasattr(model, "weights"):
        kind = "a Keras tensor" if type(model).__name__ == "KerasTensor" else f"of type {type(model).__name__}"
        raise UsageError(f"{_short_repr(model)} is {kind}, not a Keras model: give a keras.Model (or layer), "
                         "a Report, or a source such as model.py or model.keras")  # fmt: skip


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
