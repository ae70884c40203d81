"""``%load_ext modelscope``, then ``%modelscope model --input-shape None,28,28,1`` in a notebook.

The line magic shows the summary of a variable or expression (or of any source the CLI takes)
where the user would have typed ``model.summary()``; ``%modelscope stats model``,
``%modelscope graph model`` and ``%modelscope profile model`` show the other views, wherever the
line is in the cell.
Options are the CLI's, parsed by click; a bad option or a model that cannot be traced prints
the CLI's one-line message, not a traceback (``--traceback`` shows it).
"""

from __future__ import annotations

import re
import shlex
import sys
from typing import Any

import click

from modelscope.cli.options import model_options
from modelscope.errors import ModelscopeError

_VIEWS = ("summary", "stats", "graph", "profile")
USAGE = (
    "usage: %modelscope [summary|stats|graph|profile] MODEL [--input-shape SHAPE] [--dtype DTYPE] [--depth N] "
    "[--columns LIST] [--no-macs] [--unfold] [--width COLS] [--batch-size N] [--optimizer NAME] [--weights FILE] "
    "[--format svg|png] [--repeat R] [--warmup W] [--backward] [--jit] [--timing traced|isolated]  "
    "(MODEL: a variable or expression, or a source path as the CLI takes it)"
)


@click.command(name="%modelscope", add_help_option=False)
@model_options
@click.option("--depth", type=click.IntRange(min=1))
@click.option("--columns")
@click.option("--no-macs", is_flag=True)
@click.option("--unfold", is_flag=True)
@click.option("--width", type=click.IntRange(min=60))
@click.option("--batch-size", type=click.IntRange(min=1))
@click.option("--optimizer", default="adam")
@click.option("--weights")
@click.option("--format", "fmt", type=click.Choice(["svg", "png"]), default="svg")
@click.option("--repeat", type=click.IntRange(min=1), default=20)
@click.option("--warmup", type=click.IntRange(min=0), default=3)
@click.option("--backward", is_flag=True)
@click.option("--jit", is_flag=True)
@click.option("--timing", type=click.Choice(["traced", "isolated"]), default="traced")
def _options(**options: Any) -> dict[str, Any]:
    return options


_FIRST_OPTION = re.compile(r"(?:^|\s)(?=--[A-Za-z]|-h(?:\s|$))")


class _Help(Exception):
    """``%modelscope --help``."""


def parse(line: str) -> tuple[str, dict[str, Any]]:
    """The view asked for and its options; a click.UsageError for a bad line. The model is
    everything before the first option, so an expression may hold spaces (``models[ 1 ]``);
    quote a path with spaces."""
    text = line.strip()
    first, _, rest = text.partition(" ")
    view = first if first in _VIEWS else "summary"
    if first in _VIEWS:
        text = rest.strip()
    if text in ("-h", "--help"):
        raise _Help
    found = _FIRST_OPTION.search(text)
    target, options = (text[: found.start()].strip(), text[found.start() :]) if found else (text, "")
    if not target:
        raise click.UsageError("no model given")
    try:
        words = shlex.split(options)
        if target[0] in "'\"":
            unquoted = shlex.split(target)
            if len(unquoted) != 1:
                raise click.UsageError(f"one model expected, got {target}")
            target = unquoted[0]
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    return view, _options.main([*words, "--", target], standalone_mode=False)


def _target(source: str, namespace: dict[str, Any]) -> Any:
    """The user's variable or expression, else (a name that is not defined, or not Python) the
    text as a source path."""
    try:
        return eval(source, namespace)  # noqa: S307 - the user's own expression, as %timeit evaluates its line
    except (NameError, SyntaxError):
        return source  # samples/hybrid_cnn.py, cnn.keras, pkg.module:build
    except Exception as e:
        raise click.UsageError(f"could not evaluate {source!r}: {type(e).__name__}: {e}") from None


def run(line: str, namespace: dict[str, Any]) -> None:
    """Show what ``%modelscope LINE`` asks for (see the module docstring)."""
    import modelscope
    from modelscope.console import in_kernel, show
    from modelscope.render.views import Shown

    traceback = "--traceback" in line.split()
    try:
        view, o = parse(line)
        model = _target(o["source"], namespace)
        shapes, dtypes = list(o["input_shapes"]) or None, list(o["dtypes"]) or None
        load = {"object": o["object_name"], "unsafe": o["unsafe"], "imports": tuple(o["imports"]),
                "signature": o["signature"], "method": o["method"], "no_code": o["no_code"]}  # fmt: skip
        if view == "stats":
            show(Shown(modelscope.stats(model, shapes, dtypes, weights=o["weights"], **load)))
            return
        if view == "profile":
            del load["no_code"]  # a profile runs the model: it needs its code
            show(Shown(modelscope.profile(model, shapes, dtypes, batch_size=o["batch_size"], repeat=o["repeat"],
                                          warmup=o["warmup"], backward=o["backward"], jit=o["jit"],
                                          timing=o["timing"], **load)))  # fmt: skip
            return
        load["materialize"] = o["materialize"]
        if view == "graph":
            picture = modelscope.graph(
                model, shapes, dtypes, format=o["fmt"], depth=o["depth"], unfold=o["unfold"], **load
            )
            if in_kernel():
                from IPython.display import display

                display(picture)
            else:
                print(repr(picture))
        else:
            modelscope.summary(model, shapes, dtypes, depth=o["depth"], columns=o["columns"],
                               macs=not o["no_macs"], width=o["width"], unfold=o["unfold"], batch_size=o["batch_size"],
                               optimizer=o["optimizer"], **load)  # fmt: skip
    except _Help:
        print(USAGE)
    except (click.ClickException, ModelscopeError) as e:
        if traceback:
            raise
        message = e.format_message() if isinstance(e, click.ClickException) else str(e)
        print(f"%modelscope: {message}", file=sys.stderr)
        if isinstance(e, click.UsageError):
            print(USAGE, file=sys.stderr)


def register(ipython: Any) -> None:
    """Add ``%modelscope`` to an IPython shell (``%load_ext modelscope`` calls this)."""

    def modelscope(line: str) -> None:
        run(line, ipython.user_ns)

    modelscope.__doc__ = f"Show what a Keras model really is.\n\n{USAGE}"
    ipython.register_magic_function(modelscope, magic_kind="line", magic_name="modelscope")
