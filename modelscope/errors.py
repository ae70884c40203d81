"""The errors modelscope raises. Each message says what went wrong and how to fix it.

The library raises; only ``cli.py`` turns an error into a message and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The command line's exit codes (``modelscope diff`` follows diff(1): 1 means different)."""

    OK = 0
    FAILURE = 1  # the model could not be loaded or traced; stats --check found a flag
    USAGE = 2  # the command line was wrong
    INTERNAL = 3  # a bug in modelscope: please report it


class ModelscopeError(Exception):
    """Base class: a failure explained to the user, never a bug in modelscope."""

    exit_code: int = ExitCode.FAILURE


class UsageError(ModelscopeError, ValueError):
    """The user asked for something malformed or ambiguous (bad option, several models, ...);
    also a ValueError, for library callers who catch that."""

    exit_code = ExitCode.USAGE


class InputSpecError(UsageError):
    """A malformed ``--input-shape`` / ``--dtype``, or one that contradicts the model."""


class SourceError(UsageError):
    """The model source is missing or of a kind modelscope cannot read."""


class LoadError(ModelscopeError):
    """The source exists but no model could be made from it."""


class CodeNeeded(LoadError):
    """A model file names a class that is not defined here, or stores code safe mode does not run:
    it can still be read without its code (``--no-code``); ``reason`` says what is missing."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class TraceError(ModelscopeError):
    """The model was found but running it on the given input failed."""


class GraphvizError(ModelscopeError):
    """Graphviz is missing for the asked format, or failed to lay the graph out."""


class ModelscopeWarning(UserWarning):
    """Something the user should know that does not stop the work (the CLI prints it on stderr)."""


def first_line(error: BaseException) -> str:
    """An error's message, first line only (tracebacks of Keras and TensorFlow run long); its class
    name when it has no message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
