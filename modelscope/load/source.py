"""Recognising a model source before anything heavy is imported (pure, fast).

Errors that need no TensorFlow (missing file, unknown kind, syntax error) are found here, so
they are reported in milliseconds.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from modelscope.errors import LoadError, SourceError

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
_MODULE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


@dataclass(frozen=True)
class SourceRef:
    """Where the model comes from. ``kind``: ``pyfile``, ``module``, ``keras_file``, ``weights_file``,
    ``savedmodel``, ``report``."""

    kind: str
    target: str  # a file path or a dotted module name
    attr: str | None = None
    label: str = ""  # how the source is shown in reports (as the user wrote it)


@dataclass(frozen=True)
class LoadOptions:
    """How to load: ``--unsafe``, ``--import`` (repeatable), ``--signature`` (SavedModels), and
    ``--materialize`` (build a model from code or a model file with real weights even where no value
    is read)."""

    unsafe: bool = False
    imports: tuple[str, ...] = ()
    signature: str | None = None
    materialize: bool = False
    no_code: bool = False  # read a model file without its code (see load/without_code.py)


def split_attr(source: str) -> tuple[str, str | None]:
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


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def check_kind(path: Path) -> None:
    """Refuse what is not a regular file or a directory before anything opens it (a FIFO would
    hang the read), and name a symlink loop or a directory where a file belongs as such."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return  # "no such file" is said below, with the forms a source can take
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise SourceError(f"{path}: a loop of symbolic links; point at the model file itself") from e
        raise SourceError(f"{path}: cannot be read ({e.strerror or e})") from e
    suffix = path.suffix.lower()
    if stat.S_ISDIR(mode) and suffix in (".py", ".json", *KERAS_SUFFIXES):
        raise SourceError(f"{path}: a directory, not a {suffix} file; give the file itself")
    if not stat.S_ISDIR(mode) and not stat.S_ISREG(mode):
        raise SourceError(f"{path}: not a regular file (a FIFO, device or socket); give a model file")


def _readable(path: Path) -> None:
    """Open ``path`` for reading (a directory: list it) or explain why not."""
    try:
        if path.is_dir():
            os.listdir(path)
        else:
            with open(path, "rb"):
                pass
    except PermissionError as e:
        raise LoadError(
            f"{path}: permission denied. Make it readable (chmod +r) or copy it somewhere you can read."
        ) from e


def _is_hdf5(path: Path) -> bool:
    """HDF5's signature sits at offset 0, or 512, 1024, ... after a user block."""
    with open(path, "rb") as f:
        for offset in (0, 512, 1024, 2048, 4096):
            f.seek(offset)
            if f.read(8) == HDF5_SIGNATURE:
                return True
    return False


def _h5_kind(path: Path) -> str:
    """``keras_file`` for a whole model (architecture inside), ``weights_file`` for weights only."""
    if path.stat().st_size == 0:
        raise LoadError(f"{path}: the file is empty. Save the model again (model.save('model.h5')).")
    if not _is_hdf5(path):
        raise LoadError(
            f"{path}: not an HDF5 file, although it is named {path.suffix}. Check that it is the "
            "model file (model.save / model.save_weights) and not a renamed text or download page."
        )
    if path.name.lower().endswith((".weights.h5", ".weights.hdf5")):
        return "weights_file"
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                return "weights_file"
            check_metadata_size(path, "model_config", f.attrs.get_id("model_config").get_storage_size())
            return "keras_file"
    except OSError as e:
        raise LoadError(f"{path}: the HDF5 file is damaged or truncated ({e}). Save the model again.") from e


def metadata_limit() -> int:
    """The most bytes of configuration (config.json, metadata.json, an .h5 model_config) read
    from a model file: 64 MiB, or ``MODELSCOPE_MAX_CONFIG_MB``."""
    try:
        mb = float(os.environ.get("MODELSCOPE_MAX_CONFIG_MB", "64"))
        return int(mb * 2**20) if 0 < mb < 2**40 else 64 * 2**20
    except (ValueError, OverflowError):
        return 64 * 2**20


def check_metadata_size(path: Path | str, what: str, size: int) -> None:
    """Refuse configuration larger than :func:`metadata_limit` before reading it."""
    limit = metadata_limit()
    if size > limit:
        raise LoadError(f"{path}: its {what} is {size / 2**20:,.0f} MiB, more than the {limit / 2**20:,.0f} MiB "
                        "modelscope reads from a model file. If you trust the file, raise the limit with "
                        "MODELSCOPE_MAX_CONFIG_MB=<size in MiB>.")  # fmt: skip


def read_bounded(path: Path | str, what: str) -> bytes:
    """A file of configuration, read whole: refused when larger than :func:`metadata_limit`, also
    when it grows while being read."""
    limit = metadata_limit()
    with open(path, "rb") as f:
        check_metadata_size(path, what, os.fstat(f.fileno()).st_size)
        data = f.read(limit + 1)
    check_metadata_size(path, what, len(data))
    return data


def _json_kind(path: Path) -> str:
    """``weights_file`` for the index of a sharded Keras checkpoint (``x.weights.json`` holding a
    ``weight_map``, as ``model.save_weights(..., max_shard_size=...)`` writes it), else ``report``."""
    if not path.name.lower().endswith(".weights.json"):
        return "report"
    try:
        data = json.loads(read_bounded(path, "index"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        what = f"{type(e).__name__}: {str(e)[:200]}"
        raise LoadError(f"{path}: not valid JSON ({what}). A .weights.json is the index that "
                        "model.save_weights(..., max_shard_size=...) writes; save it again.") from e  # fmt: skip
    return "weights_file" if isinstance(data, dict) and "weight_map" in data else "report"


def _check_keras_archive(path: Path) -> None:
    """A ``.keras`` file is a zip with config.json; refuse damaged, oversized or too-new ones early."""
    if path.stat().st_size == 0:
        raise LoadError(f"{path}: the file is empty. Save the model again (model.save('model.keras')).")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            for name in ("config.json", "metadata.json"):
                if name in names:
                    check_metadata_size(path, name, z.getinfo(name).file_size)
            meta = json.loads(z.read("metadata.json")) if "metadata.json" in names else {}
            meta = meta if isinstance(meta, dict) else {}
    except (zipfile.BadZipFile, OSError, ValueError, RecursionError) as e:
        raise LoadError(
            f"{path}: not a valid .keras archive (truncated or not a Keras file: {e}). "
            "Save the model again with model.save('model.keras')."
        ) from e
    if "config.json" not in names:
        raise LoadError(f"{path}: this zip holds no config.json, so it is not a Keras model archive.")
    made_by = str(meta.get("keras_version", ""))[:40]
    installed = _installed_keras()
    if made_by and installed and _version_key(made_by) > _version_key(installed):
        raise LoadError(
            f"{path}: made by Keras {made_by}, newer than the installed Keras {installed}. "
            f"Upgrade: pip install -U 'keras>={made_by}'."
        )


def _installed_keras() -> str | None:
    try:
        return metadata.version("keras")
    except metadata.PackageNotFoundError:
        return None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part[:9]) for part in re.findall(r"\d+", version[:100])[:3])


def _check_tree(path: Path, limit: int = 10_000) -> None:
    """Everything inside a model directory is a regular file or a folder (a FIFO would hang the
    reader); a directory of more than ``limit`` entries is not a SavedModel."""
    for n, item in enumerate(path.rglob("*")):
        if n > limit:
            raise LoadError(f"{path}: more than {limit:,} files; not a SavedModel directory")
        try:
            mode = item.stat().st_mode
        except OSError as e:
            raise LoadError(f"{item}: cannot be read inside the model directory ({e.strerror or e})") from e
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise LoadError(f"{item}: not a regular file (a FIFO, device or socket) inside the model "
                            "directory; copy the SavedModel without it")  # fmt: skip


def _savedmodel_kind(path: Path) -> str:
    _check_tree(path)
    if not any((path / name).is_file() for name in ("saved_model.pb", "saved_model.pbtxt")):
        raise LoadError(
            f"{path}: a directory, but not a SavedModel (it has no saved_model.pb). Point at the "
            "directory that model.export() or tf.saved_model.save() wrote."
        )
    if not (path / "variables").is_dir():
        raise LoadError(
            f"{path}: this SavedModel has lost its variables/ folder. Copy the whole directory "
            "that was saved, variables/ included."
        )
    return "savedmodel"


def parse_source(source: str, obj: str | None = None) -> SourceRef:
    """Classify ``source`` (``file.py``, ``file.py:attr``, ``pkg.mod:attr``, ``model.keras``,
    ``model.h5``, ``model.weights.h5``, a sharded checkpoint's ``model.weights.json``, a SavedModel
    directory, a report ``.json``)."""
    target, attr = split_attr(source)
    if obj and attr and obj != attr:
        raise SourceError(f"{source!r} already names {attr!r}; drop --object {obj}")
    attr = attr or obj
    path = Path(target)
    suffix = path.suffix.lower()
    check_kind(path)
    if path.exists():
        _readable(path)
    if suffix == ".py":
        if not path.is_file():
            raise SourceError(f"{target}: no such file. Check the path (it is relative to {Path.cwd()}).")
        check_syntax(path)
        return SourceRef("pyfile", target, attr, source)
    if path.is_dir():
        kind = _savedmodel_kind(path)
    elif suffix in KERAS_SUFFIXES or suffix == ".json":
        if not path.is_file():
            raise SourceError(f"{target}: no such file. Check the path.")
        kind = _json_kind(path) if suffix == ".json" else "keras_file" if suffix == ".keras" else _h5_kind(path)
        if kind == "keras_file" and suffix == ".keras":
            _check_keras_archive(path)
    elif path.exists():
        raise SourceError(
            f"{target}: unsupported file type {path.suffix or '(no suffix)'!r}. modelscope reads "
            "Python files (.py), Keras files (.keras, .h5, .weights.h5, .weights.json), SavedModel directories "
            "and modules (package.module:attr)."
        )
    elif attr and ":" in source and _MODULE.match(target):
        return SourceRef("module", target, attr, source)
    else:
        raise SourceError(
            f"{source}: no such file. Give a model file (.py, .keras, .h5, .weights.h5, .weights.json), a SavedModel "
            "directory or a module as package.module:attr."
        )
    if attr:
        raise SourceError(f"--object does not apply to {target} (it holds one model); drop it")
    return SourceRef(kind, target, None, source)
