"""The command line's shared options and the checks of their values (no TensorFlow)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from modelscope.errors import UsageError

SAVEDMODEL_GRAPH_DEPTH = 2  # a SavedModel's recovered tree can be large; --depth shows more


_SHAPE_HELP = (
    "Input shape with None (or ?) for unknown sizes: None,28,28,1 or '(None, 28, 28, 1)'. "
    "Repeat for several inputs, in call order; NAME=SHAPE binds a named input. Optional when "
    "the model declares its inputs."
)


_DTYPE = click.option("--dtype", "dtypes", multiple=True, metavar="DTYPE",
                      help="Input dtype (default float32), e.g. int32 for token ids. Repeat per input in the "
                           "same order, or NAME=DTYPE.")  # fmt: skip
_FILE_OPTIONS = [  # how model files are read: every command that loads a model takes these
    click.option("--import", "imports", multiple=True, metavar="MODULE_OR_FILE",
                 help="Import this code first (repeatable): the custom layers a .keras/.h5 file needs."),
    click.option("--unsafe", is_flag=True,
                 help="Let a .keras/.h5 file run the Python code it stores (Lambda layers). Only for files "
                      "you trust."),
    click.option("--signature", metavar="NAME", help="SavedModel signature to describe (default serving_default)."),
    click.option("--materialize", is_flag=True,
                 help="Build a model from code or a model file with real weights (default: shapes only, no "
                      "values; stats always builds with values)."),
    click.option("--no-code", "no_code", is_flag=True,
                 help="Read a .keras/.h5 file as data: its configuration and weights, without importing or running "
                      "any class it names (automatic when a class is missing or safe mode refuses a Lambda)."),
    click.option("--traceback", is_flag=True, help="Show the full Python traceback on errors."),
]  # fmt: skip


def _apply(command: Callable[..., Any], decorators: list[Callable[..., Any]]) -> Callable[..., Any]:
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def model_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that loads one model shares."""
    return _apply(command, [
        click.argument("source"),
        click.option("--object", "object_name", metavar="NAME",
                     help="Which model in the file to use when it defines several."),
        click.option("--input-shape", "input_shapes", multiple=True, metavar="SHAPE", help=_SHAPE_HELP),
        _DTYPE,
        click.option("--method", metavar="NAME",
                     help="Trace this method of the model instead of call() (e.g. encode, for a VAE "
                          "without call())."),
        *_FILE_OPTIONS,
    ])  # fmt: skip


def pair_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of a command that loads two models, A and B (``diff``)."""
    return _apply(command, [
        click.argument("a"),
        click.argument("b"),
        click.option("--input-shape", "input_shapes", multiple=True, metavar="SHAPE",
                     help="Input shape for both sides."),
        click.option("--input-shape-a", "shapes_a", multiple=True, metavar="SHAPE", help="Input shape for A only."),
        click.option("--input-shape-b", "shapes_b", multiple=True, metavar="SHAPE", help="Input shape for B only."),
        _DTYPE,
        *_FILE_OPTIONS,
    ])  # fmt: skip


def output_options(kind: str, note: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format`` (the formats ``render()`` has for this kind of result) and ``-o``."""
    from modelscope.render import FORMATS

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        return _apply(command, [
            click.option("--format", "fmt", type=click.Choice(FORMATS[kind]), default="table", show_default=True,
                         help=f"Output format{note}."),
            click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout ('-' for stdout)."),
        ])  # fmt: skip

    return apply


def load_options(model: dict[str, Any]) -> Any:
    from modelscope.load.source import LoadOptions

    return LoadOptions(
        unsafe=model["unsafe"],
        imports=tuple(model["imports"]),
        signature=model["signature"],
        materialize=model.get("materialize", False),
        no_code=model.get("no_code", False),
    )


_GRAPH_SUFFIXES = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


def graph_format(fmt: str | None, output: str | None) -> str:
    from_name = _GRAPH_SUFFIXES.get(Path(output).suffix.lower()) if output not in (None, "-") else None
    if output not in (None, "-") and from_name is None and fmt is None:
        raise UsageError(f"-o {output}: cannot tell the format from the name; add --format svg|png|pdf|dot")
    if fmt and from_name and fmt != from_name:
        raise UsageError(f"--format {fmt} contradicts -o {output}; give one or make them agree")
    return fmt or from_name or "svg"
