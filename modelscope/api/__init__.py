"""The Python API behind ``modelscope.inspect``: the pipeline load -> trace -> report.

How each kind of source is opened (loaded, traced, its values made readable) is in ``sources.py``;
this module checks the arguments, runs the analyses and returns the results."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from modelscope.api.sources import load_report, open_ref, open_source, read_report, user_code
from modelscope.errors import UsageError
from modelscope.load.source import LoadOptions
from modelscope.model.inputs import make_input_spec
from modelscope.model.report import Report

if TYPE_CHECKING:
    from modelscope.analysis.diff import Comparison
    from modelscope.analysis.stats import StatsReport
    from modelscope.model.profile import ProfileReport
    from modelscope.render.pictures import DotSource, PdfImage, PngImage, SvgImage

__all__ = ["diff", "graph", "inspect", "load_report", "open_source", "profile", "read_profile", "stats", "summary"]


def _check_range(name: str, value: Any, low: int, high: int | None = None) -> None:
    """An option the CLI would check too (``--depth``, ``--width``, ...): an int in range, or None."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise UsageError(f"{name}={value!r}: must be a whole number {bound}")


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
    materialize: bool = False,
    no_code: bool = False,
) -> Report:
    """Build and trace a model, returning its :class:`~modelscope.model.report.Report`.

    ``model_or_source`` is a Keras model, a Report (returned as it is), or a source as the CLI
    takes it: ``file.py``,
    ``file.py:attr``, ``package.module:attr``, ``model.keras``, ``model.h5``,
    ``model.weights.h5``, a SavedModel directory, a saved report ``.json``.
    ``input_shape`` is a shape (``(None, 28, 28, 1)`` or ``"None,28,28,1"``), a list of
    shapes, or a dict name -> shape; ``dtype`` likewise. ``unsafe``, ``imports`` and
    ``signature`` are the CLI's ``--unsafe``, ``--import`` and ``--signature``; ``method``
    traces that method instead of ``call`` (``--method``). A model built from code (a ``.py``
    file or a module) or from a ``.keras``/``.h5`` file's configuration is built without its
    weights' values, which a report never reads (any size fits in memory); ``materialize`` builds
    it with real weights (``--materialize``). ``no_code`` reads a model file as data, without
    importing or running any class it names (``--no-code``; automatic when a class is missing or
    safe mode refuses a Lambda): no output shapes or costs, which only a trace gives.
    """
    spec = make_input_spec(input_shape, dtype, method)
    options = LoadOptions(unsafe, tuple(imports), signature, materialize, no_code)
    if isinstance(model_or_source, Report):
        return model_or_source
    if isinstance(model_or_source, (str, os.PathLike)):
        return load_report(os.fspath(model_or_source), spec, object, options)
    return open_source(model_or_source, spec).report


def summary(
    model_or_source: Any,
    input_shape: Any = None,
    dtype: Any = None,
    *,
    depth: int | None = None,
    columns: str | Sequence[str] | None = None,
    macs: bool = True,
    width: int | None = None,
    unfold: bool = False,
    batch_size: int | None = None,
    optimizer: str = "adam",
    object: str | None = None,  # noqa: A002
    unsafe: bool = False,
    imports: tuple[str, ...] = (),
    signature: str | None = None,
    method: str | None = None,
    materialize: bool = False,
    no_code: bool = False,
) -> None:
    """Show the true summary table where ``model.summary()`` would print it: as HTML in a
    notebook, as the table on standard output elsewhere (see :mod:`modelscope.console`).

    ``model_or_source`` and the load options are as for :func:`inspect` (a Report is shown as
    it is). ``depth``, ``columns`` (``"type,params,macs"`` or a list), ``macs``, ``width``,
    ``unfold``, ``batch_size`` and ``optimizer`` are the options of ``modelscope summary``. Returns
    nothing, like ``model.summary()``: :func:`inspect` returns the report itself.
    """
    from modelscope.analysis.memory import check_optimizer, training_memory
    from modelscope.console import show
    from modelscope.render import parse_columns
    from modelscope.render.table import TableOptions
    from modelscope.render.views import Shown

    chosen = parse_columns(columns)
    for name, value, low in (("depth", depth, 1), ("width", width, 60), ("batch_size", batch_size, 1)):
        _check_range(name, value, low)
    if batch_size is not None:
        check_optimizer(optimizer)  # before the model is built
    report = inspect(
        model_or_source,
        input_shape,
        dtype,
        object=object,
        unsafe=unsafe,
        imports=imports,
        signature=signature,
        method=method,
        materialize=materialize,
        no_code=no_code,
    )
    training = training_memory(report, batch_size, optimizer) if batch_size is not None else None
    options = TableOptions(depth=depth, width=width, columns=chosen, macs=macs, training=training, unfold=unfold)
    show(Shown(report, options))


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
    unfold: bool = False,
    unsafe: bool = False,
    imports: tuple[str, ...] = (),
    signature: str | None = None,
    method: str | None = None,
    materialize: bool = False,
    no_code: bool = False,
    profile: ProfileReport | str | os.PathLike[str] | None = None,
) -> SvgImage | DotSource | PngImage | PdfImage:
    """The model's graph: SVG or DOT text, PNG or PDF bytes (``str`` and ``bytes`` that a
    notebook displays as the picture, see :mod:`modelscope.render.pictures`). Options as the
    CLI's ``graph``; ``model_or_source`` may also be a Report. ``profile`` (a ProfileReport of the
    same model, or the path of its JSON) colours the boxes by their share of the forward time."""
    from modelscope.render.dot import GraphOptions, render_dot
    from modelscope.render.graphviz import render_graph
    from modelscope.render.pictures import picture

    report = inspect(
        model_or_source,
        input_shape,
        dtype,
        object=object,
        unsafe=unsafe,
        imports=imports,
        signature=signature,
        method=method,
        materialize=materialize,
        no_code=no_code,
    )
    _check_range("depth", depth, 1)
    options = GraphOptions(depth, rankdir, show_input_shapes, edge_shapes, legend, unroll, macs, unfold=unfold)
    from modelscope.model.profile import ProfileReport

    timed = profile if profile is None or isinstance(profile, ProfileReport) else read_profile(profile)
    return picture(render_graph(render_dot(report, options, timed), format), format)


def read_profile(path: str | os.PathLike[str]) -> ProfileReport:
    """A profile written by ``modelscope profile --format json`` (``UsageError`` for anything else)."""
    from modelscope.load.source import read_bounded
    from modelscope.model.profile import ProfileReport

    how = "write one with: modelscope profile SOURCE --input-shape ... --format json -o FILE.json"
    try:
        text = read_bounded(os.fspath(path), "profile").decode("utf-8")
    except OSError as e:
        raise UsageError(f"--profile {path}: cannot read it ({e.strerror or e}); {how}") from e
    try:
        return ProfileReport.from_json(text)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as e:
        raise UsageError(f"--profile {path}: not a modelscope profile JSON ({type(e).__name__}: {e}); {how}") from e


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
    unsafe: bool = False,
    imports: tuple[str, ...] = (),
    signature: str | None = None,
    method: str | None = None,
    no_code: bool = False,
) -> StatsReport:
    """Weight statistics and health flags (a :class:`modelscope.analysis.stats.StatsReport`).

    ``weights`` loads a ``.weights.h5`` file (``model.save_weights``), or a sharded checkpoint's
    ``.weights.json`` index, into the built model first; it is only read.
    """
    from modelscope.analysis.stats import Thresholds, compute_stats

    _check_range("bins", bins, 2, 200)
    spec = make_input_spec(input_shape, dtype, method)
    if weights:
        from modelscope.load.weights_sharded import check_weights_option

        check_weights_option(weights)  # a sharded index is checked before Keras follows its names
    options = LoadOptions(unsafe, tuple(imports), signature, True, no_code)
    opened = open_source(model_or_source, spec, object, options)
    if weights:
        if opened.model is None:
            raise UsageError(f"--weights {weights}: {model_or_source} is not a Keras model to load weights into; "
                             "give the .py or .keras source that builds it (or drop --weights)")  # fmt: skip
        from modelscope.trace.weights import load_weights

        load_weights(opened.model, weights)
    values = opened.values_as_stored if opened.values_as_stored and weights is None else opened.values
    return compute_stats(opened.report, values(), bins=bins, spectral_metrics=spectral,
                         thresholds=thresholds or Thresholds())  # fmt: skip


def diff(a: Any, b: Any, input_shape: Any = None, dtype: Any = None, *, input_shape_a: Any = None,
         input_shape_b: Any = None, weights_a: str | None = None, weights_b: str | None = None,
         weights: bool = True, architecture: bool = True, unsafe: bool = False, imports: tuple[str, ...] = (),
         signature: str | None = None, materialize: bool = False, no_code: bool = False) -> Comparison:  # fmt: skip
    """Compare two models (sources, live models or saved report JSONs): a
    :class:`~modelscope.analysis.diff.Comparison` holding the architecture diff and, when both
    sides hold stored weights (model files, checkpoints, live models, or ``weights_a``/
    ``weights_b`` loaded into models built from code), the weights diff; each None when not made.
    Fresh initialisations of two Python sources are not compared: they differ by chance alone.
    It unpacks as ``architecture, weights = modelscope.diff(a, b)`` too."""
    from modelscope.analysis.diff import Comparison, architecture_diff, weights_diff
    from modelscope.load.source import parse_source

    options = LoadOptions(unsafe, tuple(imports), signature, materialize, no_code)
    for trained in (weights_a, weights_b):
        if trained:
            from modelscope.load.weights_sharded import check_weights_option

            check_weights_option(trained)  # a sharded index is checked before anything loads or Keras reads it
    sides: list[tuple[Report, Any]] = []
    for side, shape, trained in ((a, input_shape_a, weights_a), (b, input_shape_b, weights_b)):
        spec = make_input_spec(shape if shape is not None else input_shape, dtype)
        if isinstance(side, Report):
            if trained:
                raise UsageError(f"--weights for {_label(side)}: a Report holds no weight values")
            sides.append((side, None))
            continue
        if isinstance(side, (str, os.PathLike)):
            ref = parse_source(os.fspath(side))  # once: it syntax-checks a .py source
            if ref.kind == "report":
                sides.append((read_report(ref), None))
                continue
            values = bool(trained) or weights and ref.kind == "keras_file"  # a file's weights are compared
            opened = open_ref(ref, spec, replace(options, materialize=options.materialize or values))
        else:
            opened = open_source(side, spec)
        if trained:
            if opened.model is None:
                raise UsageError(f"--weights for {side}: it is not a Keras model to load weights into")
            from modelscope.trace.weights import load_weights

            load_weights(opened.model, trained)
        sides.append((opened.report, opened.values if opened.stored or trained else None))
    (ra, va), (rb, vb) = sides
    arch = architecture_diff(ra, rb) if architecture else None
    moved = weights_diff(ra, rb, va(), vb()) if weights and va is not None and vb is not None else None
    notes = tuple(f"{side}: {w}" for side, (report, _) in zip("AB", sides) for w in report.warnings)
    return Comparison(_label(a), _label(b), arch, moved, notes)


def _label(side: Any) -> str:
    """How a compared side is named: its source as given, or the live model's name and class."""
    if isinstance(side, (str, os.PathLike)):
        return os.fspath(side)
    from modelscope.model.paths import automatic_base

    if isinstance(side, Report):
        return f"report of {side.model.name}"
    name = str(getattr(side, "name", "?"))
    return f"{automatic_base(name, type(side).__name__) or name} ({type(side).__name__})"


def profile(
    model_or_source: Any,
    input_shape: Any = None,
    dtype: Any = None,
    *,
    batch_size: int | None = None,
    repeat: int = 20,
    warmup: int = 3,
    backward: bool = False,
    jit: bool = False,
    object: str | None = None,  # noqa: A002
    unsafe: bool = False,
    imports: tuple[str, ...] = (),
    signature: str | None = None,
    method: str | None = None,
    timing: str = "traced",
) -> ProfileReport:
    """Time each layer's forward (and with ``backward``, forward+gradient) pass on random inputs and
    the whole model's: a :class:`~modelscope.model.profile.ProfileReport`. ``timing="traced"``
    takes each layer's time from the ops of the whole model's compiled call (they add up to it);
    ``"isolated"`` times each layer alone (see :mod:`modelscope.trace.profile`). ``method`` is the
    model's method to call, as for :func:`summary`. The model is built with real weights; nothing
    is trained or saved. ``batch_size`` fills the inputs' batch dimension (default 1); every other
    size must be known. ``repeat`` timed runs follow ``warmup`` untimed ones; ``jit`` compiles
    with XLA (per-layer times then come from the isolated method)."""
    from modelscope.trace.profile import profile_model

    if timing not in ("traced", "isolated"):
        raise UsageError(f"timing={timing!r}: give 'traced' (the default) or 'isolated'")
    _check_range("batch_size", batch_size, 1)
    _check_range("repeat", repeat, 1)
    _check_range("warmup", warmup, 0)
    spec = make_input_spec(input_shape, dtype, method)
    if isinstance(model_or_source, (str, os.PathLike)) and str(model_or_source).lower().endswith(".json"):
        raise UsageError(f"{model_or_source}: a saved report holds no weights to run; give the model itself")
    opened = open_source(model_or_source, spec, object, LoadOptions(unsafe, tuple(imports), signature, True))
    if opened.model is None or opened.report.static:
        raise UsageError(f"{model_or_source}: profile runs a Keras model, and this source gives none to run (a "
                         "weights file or a SavedModel); give the .py, module, .keras or .h5 that builds "
                         "it")  # fmt: skip
    with user_code(str(model_or_source) if isinstance(model_or_source, str) else "the model"):
        return profile_model(opened.model, opened.report, spec, batch_size, repeat, warmup, backward, jit, timing)
