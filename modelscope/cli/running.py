"""Running the model's code for a command: its prints kept off stdout, the files it reads kept
safe from ``-o``, and the report it yields."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from modelscope.cli.options import load_options
from modelscope.output import check_not_input


@contextlib.contextmanager
def prints_to_stderr() -> Iterator[None]:
    """While the model's code runs, everything it writes to stdout goes to stderr, ``print`` and
    ``os.write(1, ...)`` alike (file descriptor 1 points at 2): stdout carries only the result."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def check_output(output: str | None, inputs: list[str]) -> None:
    """Refuse an output that is an input before any work is done (write_output checks again)."""
    if output not in (None, "-"):
        check_not_input(output, inputs)


def inputs_of(source: str, model: dict[str, Any], *more: str | None) -> list[str]:
    """The files and folders this run reads, ``-o`` may name none of them: the source, weights and
    imports as given, and every file of user code Python has loaded so far (a ``pkg.mod:attr``
    source, an ``--import module``, what the model's file imports itself)."""
    from modelscope.load.source import split_attr

    files = [split_attr(source)[0], *model.get("imports", ()), *(m for m in more if m), *user_code_files()]
    return [f for f in files if _exists(f)]


def _exists(path: str) -> bool:
    try:
        return os.path.exists(path)
    except (OSError, ValueError):  # a name too long, a NUL byte
        return False


def user_code_files() -> list[str]:
    """Files of modules loaded from outside Python's own folders and modelscope's."""
    system = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    own = os.path.dirname(os.path.realpath(__file__))
    found = []
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and file:
            real = os.path.realpath(file)
            if not real.startswith(system) and not real.startswith(own) and "site-packages" not in real:
                found.append(real)
    return found


def report_of(source: str, model: dict[str, Any]) -> Any:
    """The report for SOURCE, from the shared model options (``model_options``)."""
    from modelscope.api import load_report
    from modelscope.model.inputs import make_input_spec

    spec = make_input_spec(
        list(model["input_shapes"]) or None, list(model["dtypes"]) or None, model["method"]
    )  # before TF
    with prints_to_stderr():
        return load_report(source, spec, model["object_name"], load_options(model))
