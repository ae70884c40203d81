"""Writing results: the one place that writes files, for every command and the pytest plugin.

The policy, so that nothing of the user's is ever lost:

* an output path that is an input of the run (the source, a weights file, an imported file,
  anything inside a model directory being read) is refused before anything is written;
* character devices, FIFOs, sockets and the ``/dev/stdout``-style links are written directly,
  never replaced (``-o /dev/null`` stays a device, also as root);
* a symlink to a file is followed: the file it points to gets the new content, the link stays;
* any other file is written to a uniquely named partial file beside it and renamed over it, so
  it appears whole or not at all and parallel writers never collide; the partial file is removed
  on failure, and a new file gets the usual mode (0644 under the default umask);
* a default output name made from a model name is reduced to a plain file name in the current
  folder (:func:`safe_file_name`).
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from modelscope.errors import UsageError

_DIRECT_PREFIXES = ("/dev/", "/proc/")  # streams and devices: written in place, never renamed over


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_not_input(target: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse (exit 2) an output path that is, or lies inside, one of the run's inputs."""
    real = Path(os.path.realpath(target))
    for item in inputs:
        source = Path(os.path.realpath(item))
        try:
            same = source.exists() and real.exists() and os.path.samefile(real, source)
        except (OSError, ValueError):  # a name too long or otherwise impossible: it is no input either
            same = False
        if _inside(real, source) or same:
            raise UsageError(f"-o {target} would overwrite {item}, which this run reads; choose another file")


def write_bytes(data: bytes, target: str | os.PathLike[str]) -> None:
    """Write ``data`` to ``target`` following the policy above (OSError on failure)."""
    path = Path(target)
    real = Path(os.path.realpath(path))
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    if str(path).startswith(_DIRECT_PREFIXES) or (mode is not None and not stat.S_ISREG(mode)):
        with open(path, "wb") as stream:  # a device, FIFO or stream: never replace it
            stream.write(data)
        return
    fd, partial = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name[:64]}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(partial, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
        os.replace(partial, real)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def write_output(data: str | bytes, output: str | None, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write a command's result to stdout (``None`` or ``-``) or to a file (see the policy above)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if output in (None, "-"):
        sys.stdout.flush()
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
        return
    if not output:
        raise UsageError("-o needs a file name (or - for stdout)")
    check_not_input(output, inputs)
    try:
        write_bytes(raw, output)
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot write {output}: {getattr(e, 'strerror', None) or e}") from e


def safe_file_name(name: str, suffix: str) -> str:
    """A plain file name in the current folder made from a model name (``../x/pwned`` -> ``x_pwned``)."""
    stem = re.sub(r"[^\w.-]+", "_", name).strip("._-")
    stem = stem.encode("utf-8")[:100].decode("utf-8", "ignore") or "model"  # 100 bytes: any file system takes it
    return f"{stem}.{suffix}"
