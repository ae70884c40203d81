"""Recognising a model source before anything heavy is imported (pure, fast).

Errors that need no TensorFlow (missing file, unknown kind, syntax error) are found here, so
they are reported in milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from modelscope.errors import LoadError, SourceError

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
_MODULE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


@dataclass(frozen=True)
class SourceRef:
    """Where the model comes from. ``kind``: ``pyfile``, ``module``, ``keras_file``, ``report``."""

    kind: str
    target: str  # a file path or a dotted module name
    attr: str | None = None
    label: str = ""  # how the source is shown in reports (as the user wrote it)


def _split_attr(source: str) -> tuple[str, str | None]:
    head, sep, tail = source.rpartition(":")
    if sep and tail and re.fullmatch(r"[A-Za-z_]\w*", tail) and not re.fullmatch(r"[A-Za-z]", head):
        return head, tail  # "file.py:model" or "pkg.mod:build" (not a Windows drive "C:")
    return source, None


def check_syntax(path: Path) -> None:
    try:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except SyntaxError as e:
        where = f"{e.filename}:{e.lineno}" if e.lineno else str(path)
        raise LoadError(f"{where}: syntax error: {e.msg}. Fix the file and try again.") from e
    except ValueError as e:  # null bytes
        raise LoadError(f"{path}: not a Python source file ({e})") from e


def parse_source(source: str, obj: str | None = None) -> SourceRef:
    """Classify ``source`` (``file.py``, ``file.py:attr``, ``pkg.mod:attr``, ``model.keras``)."""
    target, attr = _split_attr(source)
    if obj and attr and obj != attr:
        raise SourceError(f"{source!r} already names {attr!r}; drop --object {obj}")
    attr = attr or obj
    path = Path(target)
    if path.suffix == ".py":
        if not path.is_file():
            raise SourceError(f"{target}: no such file. Check the path (it is relative to {Path.cwd()}).")
        check_syntax(path)
        return SourceRef("pyfile", target, attr, source)
    if path.suffix.lower() in KERAS_SUFFIXES:
        if not path.is_file():
            raise SourceError(f"{target}: no such file. Check the path.")
        if attr:
            raise SourceError(f"--object does not apply to a {path.suffix} file; drop it")
        return SourceRef("keras_file", target, None, source)
    if path.suffix.lower() == ".json":
        if not path.is_file():
            raise SourceError(f"{target}: no such file. Check the path.")
        return SourceRef("report", target, None, source)
    if path.is_dir():
        raise SourceError(
            f"{target}: is a directory. SavedModel directories are not supported yet; "
            "load the model in Python and save it with model.save('model.keras'), or point "
            "modelscope at the .py file that builds it."
        )
    if path.exists():
        raise SourceError(
            f"{target}: unsupported file type {path.suffix or '(no suffix)'!r}. modelscope reads "
            "Python files (.py), Keras files (.keras, .h5) and modules (package.module:attr)."
        )
    if attr and ":" in source and _MODULE.match(target):
        return SourceRef("module", target, attr, source)
    raise SourceError(
        f"{source}: no such file. Give a model file (.py, .keras, .h5) or a module "
        "as package.module:attr."
    )
