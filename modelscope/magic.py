"""``%load_ext modelscope``, then ``%modelscope model --input-shape None,28,28,1`` in a notebook.

The line magic shows the summary of a variable (or of any source the CLI takes) where the
user would have typed ``model.summary()``; ``%modelscope stats model`` and ``%modelscope graph
model`` show the other two views. Options are the CLI's, parsed by click; a bad option or a
model that cannot be traced prints the CLI's one-line message, not a traceback (``--traceback``
shows it).
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

import click

from modelscope.cli.options import model_options
from modelscope.errors import ModelscopeError

_VIEWS = ("summary", "stats", "graph")
USAGE = (
    "usage: %modelscope [summary|stats|graph] MODEL [--input-shape SHAPE] [--dtype DTYPE] [--depth N] "
    "[--columns LIST] [--no-macs] [--width COLS] [--batch-size N] [--optimizer NAME] [--weights FILE] "
    "[--format svg|png]  (MODEL: a variable or expression, or a source path as the CLI takes it)"
)


@click.command(name="%modelscope", add_help_option=False)
@model_options
@click.option("--depth", type=click.IntRange(min=1))
@click.option("--columns")
@click.option("--no-macs", is_flag=True)
@click.option("--width", type=click.IntRange(min=60))
@click.option("--batch-size", type=click.IntRange(min=1))
@click.option("--optimizer", default="adam")
@click.option("--weights")
@click.option("--format", "fmt", type=click.Choice(["svg", "png"]), default="svg")
def _options(**options: Any) -> dict[str, Any]:
    return options


def parse(line: str) -> tuple[str, dict[str, Any]]:
    """The view asked for and its options; a click.UsageError for a bad line."""
    try:
        words = shlex.split(line)
    except ValueError as e:
        raise click.UsageError(f"{e}") from None
    view = words.pop(0) if words and words[0] in _VIEWS else "summary"
    if not words or words[0] in ("-h", "--help"):
        raise click.UsageError("no model given")
    options = _options.main(words, standalone_mode=False)
    return view, options


def _target(source: str, namespace: dict[str, Any]) -> Any:
    """The user's variable or expression, else the text as a source path."""
    try:
        return eval(source, namespace)  # noqa: S307 - the user's own expression, as %timeit evaluates its line
    except NameError:
        return source
    except SyntaxError:
        return source  # a path such as samples/hybrid_cnn.py:build


def run(line: str, namespace: dict[str, Any]) -> Any:
    """What ``%modelscope LINE`` shows: the summary is displayed, stats and graphs returned."""
    import modelscope

    traceback = "--traceback" in line.split()
    try:
        view, o = parse(line)
        model = _target(o["source"], namespace)
        shapes, dtypes = list(o["input_shapes"]) or None, list(o["dtypes"]) or None
        load = {"object": o["object_name"], "unsafe": o["unsafe"], "imports": tuple(o["imports"]),
                "signature": o["signature"], "method": o["method"]}  # fmt: skip
        if view == "stats":
            return modelscope.stats(model, shapes, dtypes, weights=o["weights"], **load)
        if view == "graph":
            return modelscope.graph(model, shapes, dtypes, format=o["fmt"], depth=o["depth"], **load)
        modelscope.summary(model, shapes, dtypes, depth=o["depth"], columns=o["columns"], macs=not o["no_macs"],
                           width=o["width"], batch_size=o["batch_size"], optimizer=o["optimizer"], **load)  # fmt: skip
        return None
    except (click.ClickException, ModelscopeError) as e:
        if traceback:
            raise
        message = e.format_message() if isinstance(e, click.ClickException) else str(e)
        print(f"%modelscope: {message}", file=sys.stderr)
        if isinstance(e, click.UsageError):
            print(USAGE, file=sys.stderr)
        return None


def register(ipython: Any) -> None:
    """Add ``%modelscope`` to an IPython shell (``%load_ext modelscope`` calls this)."""

    def modelscope(line: str) -> Any:
        return run(line, ipython.user_ns)

    modelscope.__doc__ = f"Show what a Keras model really is.\n\n{USAGE}"
    ipython.register_magic_function(modelscope, magic_kind="line", magic_name="modelscope")
