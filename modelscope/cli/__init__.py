"""The ``modelscope`` command line. Thin on purpose: ``commands.py`` parses, calls the API,
renders and writes, and returns an exit code; this module turns what went wrong into one message
and an exit code, the only place that does (``options.py``: shared options; ``running.py``: the
model's code kept off stdout, the files it reads kept safe from ``-o``).

Importing it imports click only; TensorFlow is imported inside commands that load a model, so
``--help`` stays fast.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Any

import click

from modelscope.cli.commands import diff, graph, profile, stats, summary
from modelscope.errors import ExitCode, ModelscopeError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="keras-modelscope")
def cli() -> None:
    """See what your Keras models really are: true shapes and parameter counts for
    Sequential, functional, subclassed and hybrid models.

    \b
    Exit codes: 0 ok; 1 the model could not be loaded or traced;
                2 bad usage; 3 internal error (please report it).
    """


for _command in (summary, graph, stats, diff, profile):
    cli.add_command(_command)


def _fail(message: str, code: int) -> None:
    from modelscope.render.safe import visible

    text = "\n".join(visible(line) for line in message.split("\n"))  # names in it are data too
    click.echo(f"modelscope: error: {text}", err=True)
    sys.exit(code)


def _show_warning(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    from modelscope.errors import ModelscopeWarning

    if issubclass(category, ModelscopeWarning):
        click.echo(f"modelscope: warning: {message}", err=True)
    else:
        _default_showwarning(message, category, *args, **kwargs)


_default_showwarning = warnings.showwarning


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI: errors become one short message and an exit code (see ``--help``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    warnings.showwarning = _show_warning
    show_traceback = "--traceback" in args
    try:
        code = cli.main(args=args, prog_name="modelscope", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        if show_traceback:
            raise
        e.show()
        sys.exit(ExitCode.USAGE if isinstance(e, click.UsageError) else ExitCode.FAILURE)
    except click.exceptions.Abort:
        _fail("aborted", ExitCode.FAILURE)
    except ModelscopeError as e:
        if show_traceback:
            raise
        _fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as e:
        if show_traceback:
            raise
        _fail(f"internal error: {type(e).__name__}: {e}\nRun again with --traceback and report "
              "it, please.", ExitCode.INTERNAL)  # fmt: skip
    sys.exit(int(code or 0))
