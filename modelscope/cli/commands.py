"""The commands: parse, call the API, render, write; each returns its exit code."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from modelscope.cli.options import (
    SAVEDMODEL_GRAPH_DEPTH,
    graph_format,
    load_options,
    model_options,
    output_options,
    pair_options,
)
from modelscope.cli.running import check_output, prints_to_stderr, report_of
from modelscope.cli.running import inputs_of as _inputs_of
from modelscope.errors import ExitCode, ModelscopeError
from modelscope.output import safe_file_name, write_output
from modelscope.render import parse_columns, render

if TYPE_CHECKING:
    from rich.text import Text


def inputs_of(source: str, model: dict[str, Any], *more: str | None) -> list[str]:
    """The files this run reads (``running.inputs_of``), and the shards of a sharded checkpoint among
    them (``x.weights.json`` as SOURCE or ``--weights``), so that ``-o`` may name none of them."""
    files = _inputs_of(source, model, *more)
    sharded = [f for f in files if f.lower().endswith(".weights.json")]
    if sharded:
        from modelscope.load.weights_sharded import shard_files

        files += [shard for index in sharded for shard in shard_files(index)]
    return files


def terminal_width(output: str | None, width: int | None) -> int | None:
    """The width a table must fit: ``--width`` wherever it goes, else the terminal's on a terminal;
    None (the table's natural width) for files and pipes."""
    if width is not None or output not in (None, "-") or not sys.stdout.isatty():
        return width
    from rich.console import Console

    return Console().width


def emit(out: str | Text, output: str | None, inputs: list[str], width: int | None = None) -> None:
    """Write a rendered result: a table styled on a terminal, plain text anywhere else."""
    if not isinstance(out, str):  # a rich Text
        if output in (None, "-") and sys.stdout.isatty():
            from rich.console import Console

            Console(width=width).print(out, soft_wrap=True, end="")
            return
        out = out.plain
    write_output(out, output, inputs)


_WIDTH = click.option(
    "--width",
    type=click.IntRange(min=60),
    metavar="COLS",
    help="Fit the table in COLS columns (at least 60), on a terminal or not; optional columns leave first, "
    "then shapes shorten, then long names are cut in the middle with '…' (see the README). Default: the "
    "terminal's width; as wide as needed in a file or a pipe.",
)


@click.command()
@model_options
@output_options("report")
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    metavar="N",
    help="Fold layers deeper than N into their parent (table and markdown).",
)
@_WIDTH
@click.option(
    "--columns",
    metavar="LIST",
    help="Table columns, comma-separated, from: type, shape, params, nontrainable, calls, macs, memory, "
    "connected (Layer always shows). Default: those that say something.",
)
@click.option("--no-macs", is_flag=True, help="Leave out the MACs and activation-memory columns and the compute line.")
@click.option("--unfold", is_flag=True, help="List every block of a run of identical blocks (default: one row, xN).")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    metavar="N",
    help="Add an estimate of the memory training needs at this batch size (see --optimizer).",
)
@click.option(
    "--optimizer",
    default="adam",
    show_default=True,
    metavar="NAME",
    help="Optimizer for the training-memory estimate: adam, adamw, sgd, momentum, rmsprop, ...",
)
def summary(
    source: str,
    fmt: str,
    output: str | None,
    depth: int | None,
    width: int | None,
    columns: str | None,
    no_macs: bool,
    unfold: bool,
    batch_size: int | None,
    optimizer: str,
    **model: Any,
) -> None:
    """Print every layer of SOURCE with its true shapes and parameter counts.

    SOURCE is a Python file (file.py, file.py:NAME), a module (package.module:NAME), a Keras
    file (.keras, .h5), a weights file (.weights.h5, or a sharded checkpoint's .weights.json), a
    SavedModel directory or a report saved with --format json.

    \b
    Example:
      modelscope summary samples/hybrid_cnn.py --input-shape None,28,28,1
    """
    chosen = parse_columns(columns)
    check_output(output, inputs_of(source, model))
    if batch_size is not None:
        from modelscope.analysis.memory import check_optimizer

        check_optimizer(optimizer)  # before the model is loaded
    report = report_of(source, model)
    training = None
    if batch_size is not None:
        from modelscope.analysis.memory import training_memory

        training = training_memory(report, batch_size, optimizer)
    from modelscope.render.table import TableOptions

    width = terminal_width(output, width)
    options = TableOptions(depth=depth, width=width, columns=chosen, macs=not no_macs, training=training, unfold=unfold)
    emit(render(report, fmt, options), output, inputs_of(source, model), width)


@click.command()
@model_options
@click.option(
    "-o", "--output", metavar="FILE", help="Where to write ('-' for stdout). Default: <model name>.<format> here."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "png", "pdf", "dot"]),
    help="Output format. Default: from the -o file name, else svg.",
)
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    metavar="N",
    help="Collapse layers deeper than N into their parent's box (SavedModels: 2 by default).",
)
@click.option(
    "--rankdir",
    type=click.Choice(["TB", "LR"]),
    default="TB",
    show_default=True,
    help="Layout direction: top to bottom, or left to right.",
)
@click.option("--show-input-shapes", is_flag=True, help="Show each layer's input shapes too.")
@click.option("--edge-shapes", is_flag=True, help="Label edges with the shape of the tensor they carry.")
@click.option(
    "--unroll", is_flag=True, help="One box per call for a layer called several times (default: one box marked xN)."
)
@click.option("--no-legend", is_flag=True, help="Leave out the colour legend.")
@click.option("--macs", "show_macs", is_flag=True, help="Label each box with the layer's MACs per sample.")
@click.option("--unfold", is_flag=True, help="Draw every block of a run of identical blocks (default: one, marked xN).")
@click.option("--profile", "profile_file", type=click.Path(exists=True, dir_okay=False), metavar="FILE.json",
              help="Colour boxes by their share of the forward time, from `modelscope profile --format json` "
              "of the same model.")  # fmt: skip
def graph(
    source: str,
    output: str | None,
    fmt: str | None,
    depth: int | None,
    rankdir: str,
    show_input_shapes: bool,
    edge_shapes: bool,
    unroll: bool,
    no_legend: bool,
    show_macs: bool,
    unfold: bool,
    profile_file: str | None,
    **model: Any,
) -> None:
    """Draw SOURCE's traced data flow with Graphviz: SVG, PNG, PDF or DOT.

    One box per layer (a layer called N times is one box marked xN), nested layers as labelled
    clusters, inputs and outputs as ovals. Fill colour: blue trainable, grey non-trainable,
    amber both, white no parameters; with --profile, light to dark by share of the forward time.
    SVG and DOT work without system Graphviz; PNG and PDF need its 'dot' program.

    \b
    Example:
      modelscope graph samples/hybrid_cnn.py --input-shape None,28,28,1 -o cnn.svg
    """
    kind = graph_format(fmt, output)
    check_output(output, inputs_of(source, model, profile_file))
    timed = None
    if profile_file is not None:
        from modelscope.api import read_profile

        timed = read_profile(profile_file)  # a bad file fails before the model is loaded
    report = report_of(source, model)
    from modelscope.render.dot import GraphOptions, render_dot
    from modelscope.render.graphviz import render_graph

    if depth is None and report.model.kind == "savedmodel":
        depth = SAVEDMODEL_GRAPH_DEPTH  # a recovered tree can be large; --depth shows more
    options = GraphOptions(depth=depth, rankdir=rankdir, show_input_shapes=show_input_shapes,
                           edge_shapes=edge_shapes, legend=not no_legend, unroll=unroll, macs=show_macs,
                           unfold=unfold)  # fmt: skip
    data = render_graph(render_dot(report, options, timed), kind)
    target = output or safe_file_name(report.model.name, kind)
    write_output(data, target, inputs_of(source, model, profile_file))
    if target != "-":
        click.echo(f"wrote {target} ({kind.upper()}, {len(data):,} bytes)", err=True)
    _say(report.warnings)


def _say(notes: tuple[str, ...]) -> None:
    """The report's warnings on stderr, for outputs that have no place for them (a picture, stats)."""
    import warnings

    from modelscope.errors import ModelscopeWarning

    for note in notes:
        warnings.warn(note, ModelscopeWarning, stacklevel=1)


@click.command()
@model_options
@click.option("--weights", metavar="FILE", help="Load trained weights (.weights.h5, .weights.json) first.")
@output_options("stats")
@click.option("--filter", "pattern", metavar="GLOB", help="Only variables whose path matches, e.g. '*/kernel'.")
@click.option(
    "--sort",
    type=click.Choice(["path", "count", "mean", "std", "min", "max", "abs_mean", "l2", "zeros", "nan", "inf"]),
    help="Sort variables by this figure, largest first (default: grouped by layer).",
)
@click.option("--bins", type=click.IntRange(2, 200), default=16, show_default=True, help="Histogram bins.")
@click.option("--no-spectral", is_flag=True, help="Skip spectral norms of Dense/Conv kernels.")
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="RULE=VALUE",
    help="Override a flag threshold: exploding=10, collapsed=1e-6, dead=0.",
)
@click.option("--check", is_flag=True, help="Exit with code 1 when any health flag fires (for CI).")
@_WIDTH
def stats(
    source: str,
    weights: str | None,
    fmt: str,
    output: str | None,
    pattern: str | None,
    sort: str | None,
    bins: int,
    no_spectral: bool,
    thresholds: tuple[str, ...],
    check: bool,
    width: int | None,
    **model: Any,
) -> int:
    """Per-variable and per-layer weight statistics of SOURCE, with health flags.

    Flags: NaN/Inf values, all-zero weight matrices, dead Dense/Conv output channels, exploding
    or collapsed weights, BatchNormalization variance <= 0 (see the README for each rule).

    \b
    Example:
      modelscope stats model.py --input-shape None,28,28,1 --weights trained.weights.h5 --check
    """
    from modelscope.analysis.stats import Thresholds

    limits = Thresholds.parse(thresholds)
    check_output(output, inputs_of(source, model, weights))
    from modelscope.api import stats as compute
    from modelscope.model.inputs import make_input_spec

    shapes, dtypes = list(model["input_shapes"]) or None, list(model["dtypes"]) or None
    make_input_spec(shapes, dtypes, model["method"])  # bad shapes fail before TensorFlow
    load = load_options(model)
    with prints_to_stderr():
        result = compute(source, shapes, dtypes, object=model["object_name"], weights=weights, bins=bins,
                         spectral=not no_spectral, thresholds=limits, unsafe=load.unsafe, imports=load.imports,
                         signature=load.signature, method=model["method"], no_code=load.no_code)  # fmt: skip
    _say(result.report.warnings)
    from modelscope.render.stats import StatsOptions

    width = terminal_width(output, width)
    options = StatsOptions(filter=pattern, sort=sort, width=width)
    emit(render(result, fmt, options), output, inputs_of(source, model, weights), width)
    return ExitCode.FAILURE if check and result.flags else ExitCode.OK


@click.command()
@pair_options
@click.option("--weights-a", metavar="FILE", help="Trained weights (.weights.h5, .weights.json) to load into A first.")
@click.option("--weights-b", metavar="FILE", help="Trained weights (.weights.h5, .weights.json) to load into B first.")
@click.option("--weights-only", is_flag=True, help="Compare the weights only, not the architecture.")
@click.option("--all", "show_all", is_flag=True, help="Show unchanged layers and variables too.")
@output_options("diff", " (markdown: for a pull-request comment)")
@click.option(
    "--check",
    type=click.Choice(["any", "architecture", "weights"]),
    default="any",
    show_default=True,
    help="What makes the exit code 1: any difference, the architecture only, or the weights only.",
)
def diff(
    a: str,
    b: str,
    input_shapes: tuple[str, ...],
    shapes_a: tuple[str, ...],
    shapes_b: tuple[str, ...],
    dtypes: tuple[str, ...],
    imports: tuple[str, ...],
    unsafe: bool,
    signature: str | None,
    materialize: bool,
    no_code: bool,
    weights_a: str | None,
    weights_b: str | None,
    weights_only: bool,
    show_all: bool,
    fmt: str,
    output: str | None,
    check: str,
    traceback: bool,
) -> int:
    """Compare two models or checkpoints: architecture (layers added, removed, changed; totals) and,
    when both hold weights, how far each variable moved.

    A and B are any sources summary takes, or reports saved with --format json (compared
    without TensorFlow). Exit codes, as diff(1): 0 the same, 1 different, 2 an error.

    \b
    Example:
      modelscope diff old_model.py new_model.py --input-shape None,28,28,1 --format markdown
    """
    from modelscope.api import diff as compute
    from modelscope.model.inputs import make_input_spec
    from modelscope.render.diff import differs

    def shape(values: tuple[str, ...]) -> Any:
        return list(values) or None

    check_output(output, [*inputs_of(a, {"imports": imports}, weights_a), *inputs_of(b, {}, weights_b)])
    for values in (input_shapes, shapes_a, shapes_b):
        make_input_spec(shape(values), shape(dtypes))  # malformed shapes fail before TensorFlow
    try:
        with prints_to_stderr():
            comparison = compute(a, b, shape(input_shapes), shape(dtypes), input_shape_a=shape(shapes_a),
                                  input_shape_b=shape(shapes_b), weights_a=weights_a, weights_b=weights_b,
                                  architecture=not weights_only, unsafe=unsafe,
                                  imports=imports, signature=signature, materialize=materialize,
                                  no_code=no_code)  # fmt: skip
    except ModelscopeError as e:
        e.exit_code = ExitCode.USAGE  # diff(1): 2 is trouble, 1 means "different"
        raise
    inputs = [*inputs_of(a, {"imports": imports}, weights_a), *inputs_of(b, {}, weights_b)]
    emit(render(comparison, fmt, show_all), output, inputs)
    _say(comparison.notes)
    return ExitCode.FAILURE if differs(comparison.architecture, comparison.weights, check) else ExitCode.OK


@click.command()
@model_options
@output_options("profile")
@click.option("--batch-size", type=click.IntRange(min=1), metavar="N",
              help="Batch size of the random inputs (default 1, or the size the model fixes).")  # fmt: skip
@click.option("--repeat", type=click.IntRange(min=1), default=20, show_default=True, metavar="R",
              help="Timed runs per layer (median, min and max are reported).")  # fmt: skip
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True, metavar="W",
              help="Untimed runs before the timed ones (the compiling first call is never timed).")  # fmt: skip
@click.option("--backward", is_flag=True, help="Also time forward + gradient of each layer and of the model.")
@click.option("--jit", is_flag=True, help="Compile with XLA (tf.function(jit_compile=True)); layers are then timed "
              "in isolation.")  # fmt: skip
@click.option("--timing", type=click.Choice(["traced", "isolated"]), default="traced", show_default=True,
              help="traced: each layer's share of the whole model's compiled call, from its ops (they add up); "
              "isolated: each layer timed alone as its own compiled call.")  # fmt: skip
@click.option("--depth", type=click.IntRange(min=1), metavar="N", help="Show layers down to depth N (table, markdown).")
@_WIDTH
def profile(
    source: str,
    fmt: str,
    output: str | None,
    batch_size: int | None,
    repeat: int,
    warmup: int,
    backward: bool,
    jit: bool,
    timing: str,
    depth: int | None,
    width: int | None,
    **model: Any,
) -> None:
    """Time each layer of SOURCE on random inputs: forward (and --backward) time per layer in the
    summary's tree, share of the whole model, achieved MAC/s, output bytes.

    The model is built with real (fresh or stored) weights; nothing is trained or saved. The
    whole model runs as one compiled call under TensorFlow's profiler and each op's time goes to
    the layer that created it, so the layers add up to the call (--timing isolated: each layer
    timed alone instead). See the README for the method and its limits.

    \b
    Example:
      modelscope profile samples/hybrid_cnn.py --input-shape None,28,28,1 --repeat 50
    """
    from modelscope.api import profile as compute
    from modelscope.model.inputs import make_input_spec

    check_output(output, inputs_of(source, model))
    shapes, dtypes = list(model["input_shapes"]) or None, list(model["dtypes"]) or None
    make_input_spec(shapes, dtypes, model["method"])  # bad shapes fail before TensorFlow
    load = load_options(model)
    with prints_to_stderr():
        result = compute(source, shapes, dtypes, batch_size=batch_size, repeat=repeat, warmup=warmup,
                         backward=backward, jit=jit, object=model["object_name"], unsafe=load.unsafe,
                         imports=load.imports, signature=load.signature, method=model["method"],
                         timing=timing)  # fmt: skip
    _say(result.report.warnings)
    from modelscope.render.profile import ProfileOptions

    width = terminal_width(output, width)
    emit(render(result, fmt, ProfileOptions(depth=depth, width=width)), output, inputs_of(source, model), width)
