"""The errors modelscope raises. Each message says what went wrong and how to fix it.

The library raises; only ``cli.py`` turns an error into a message and an exit code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # the model could not be loaded or traced
EXIT_USAGE = 2  # the command line was wrong


class ModelscopeError(Exception):
    """Base class: a failure explained to the user, never a bug in modelscope."""

    exit_code = EXIT_FAILURE


class UsageError(ModelscopeError):
    """The user asked for something malformed or ambiguous (bad option, several models, ...)."""

    exit_code = EXIT_USAGE


class InputSpecError(UsageError):
    """A malformed ``--input-shape`` / ``--dtype``, or one that contradicts the model."""


class SourceError(UsageError):
    """The model source is missing or of a kind modelscope cannot read."""


class LoadError(ModelscopeError):
    """The source exists but no model could be made from it."""


class TraceError(ModelscopeError):
    """The model was found but running it on the given input failed."""


class ModelscopeWarning(UserWarning):
    """Something the user should know that does not stop the work (the CLI prints it on stderr)."""
