"""Reading a sharded Keras 3 checkpoint with h5py: no TensorFlow, no model.

``model.save_weights("x.weights.json", max_shard_size=GB)`` writes an index, ``{"metadata":
{"total_size": ...}, "weight_map": {"/layers/dense/vars": ["x_00000.weights.h5"], ...}}``, and
shards ``x_00000.weights.h5``, ... beside it. Each shard has the layout of a ``.weights.h5``
(``weights_h5.py``); a ``vars`` group may be present (empty) in one shard and hold its datasets in
another, and one layer's variables may span shards. The variables are the union of every shard's
datasets, ordered as one ``.weights.h5`` of the same model orders them, so both give the same
report and the same statistics.

Every byte is hostile: the index is read up to the configuration limit, shard names must be plain
file names of ``.h5`` files in the index's own folder (no ``../``, no absolute path, no symlink out
of the folder, no FIFO), counts are bounded, and a dataset is read only when its claimed size fits
in memory. Values are streamed one variable at a time, one shard file open at a time.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelscope.errors import LoadError
from modelscope.load.read_ahead import streamed
from modelscope.load.source import read_bounded
from modelscope.load.weights_h5 import (
    _MALFORMED,
    ValueReader,
    _keras3_variables,
    _open,
    _variable,
    memory_bytes,
    offset,
    read_value,
    weights_model,
)
from modelscope.model.report import VariableInfo
from modelscope.model.traced import TracedModel

MAX_SHARDS = 10_000  # a 70B model in 5 GB shards has about 60
MAX_NAMES = 1_000_000  # shard names listed in the weight map, repeats included
MAX_VARIABLES = 1_000_000  # datasets across all shards (Llama 3 70B has 723)
_SHARD_SUFFIXES = (".h5", ".hdf5")


@dataclass(frozen=True)
class ShardedIndex:
    """A checked index: its path and its shards (in the index's folder, in order of first mention)."""

    path: str
    shards: tuple[str, ...]


def read_index(path: str) -> ShardedIndex:
    """Parse and check the index at ``path`` and every shard it names (LoadError when anything
    is malformed, hostile or missing, naming it and how to fix it)."""
    try:
        data = json.loads(read_bounded(path, "index"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise LoadError(f"{path}: not valid JSON ({type(e).__name__}: {str(e)[:200]}). Give the index that "
                        "model.save_weights('x.weights.json', max_shard_size=...) wrote.") from e  # fmt: skip
    except OSError as e:
        raise LoadError(f"{path}: cannot read the index ({e.strerror or e}).") from e
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict):
        raise LoadError(f"{path}: not a sharded weights index: its weight_map is missing or not an object. "
                        "Give the index model.save_weights('x.weights.json', max_shard_size=...) wrote.")  # fmt: skip
    names = _shard_names(path, weight_map)
    return ShardedIndex(path, tuple(_shard_path(path, name) for name in names))


def _shard_names(path: str, weight_map: dict[str, Any]) -> list[str]:
    """The distinct shard names of the weight map, in order of first mention (bounded counts)."""
    listed: list[Any] = []
    for value in weight_map.values():
        listed += value if isinstance(value, list) else [value]
        if len(listed) > MAX_NAMES:
            raise LoadError(f"{path}: the weight map lists more than {MAX_NAMES:,} shard names; not an index "
                            "model.save_weights wrote.")  # fmt: skip
    names = list(dict.fromkeys(_check_name(path, name) for name in listed))
    if not names:
        raise LoadError(f"{path}: the index lists no shards (its weight map is empty). Save the weights again.")
    if len(names) > MAX_SHARDS:
        raise LoadError(f"{path}: the index names {len(names):,} shards, more than the {MAX_SHARDS:,} modelscope "
                        "reads; save the weights with a larger max_shard_size.")  # fmt: skip
    return names


def _check_name(path: str, name: Any) -> str:
    """A shard name must be a plain ``.h5`` file name: no folder, no ``..``, nothing odd."""
    plain = (isinstance(name, str) and 0 < len(name) <= 255 and name not in (".", "..")
             and not any(c in name for c in "/\\\0") and os.path.basename(name) == name)  # fmt: skip
    if not plain:
        shown = repr(name)[:120] if isinstance(name, str) else f"a JSON {type(name).__name__}"
        raise LoadError(f"{path}: the shard name {shown} is not a plain file name. An index may only name "
                        "shard files in its own folder, as model.save_weights writes them; this one is damaged "
                        "or was edited.")  # fmt: skip
    if not str(name).lower().endswith(_SHARD_SUFFIXES):
        raise LoadError(f"{path}: the shard name {name[:120]!r} is not an .h5 file (Keras names shards "
                        "x_00000.weights.h5, ...); the index is damaged or was edited.")  # fmt: skip
    return str(name)


def _shard_path(path: str, name: str) -> str:
    """The shard's path beside the index, once it is known to be a regular file in that folder."""
    folder = os.path.dirname(os.path.abspath(path))
    shard = os.path.join(os.path.dirname(path), name)  # as the index was given: relative stays relative
    try:
        mode = os.stat(shard).st_mode
    except FileNotFoundError:
        broken = " (a symbolic link to nothing)" if os.path.islink(shard) else ""
        raise LoadError(f"{path}: its shard {name} is missing from {folder}{broken}. Copy every shard the index "
                        "lists (x_00000.weights.h5, ...) next to it, or save the weights again.") from None  # fmt: skip
    except OSError as e:
        raise LoadError(f"{path}: its shard {name} cannot be read ({e.strerror or e}).") from e
    real = os.path.realpath(shard)
    if os.path.dirname(real) != os.path.realpath(folder):
        raise LoadError(f"{path}: its shard {name} is a symbolic link out of the index's folder (to {real}). "
                        "Copy the shard itself next to the index.")  # fmt: skip
    if not stat.S_ISREG(mode):
        raise LoadError(f"{path}: its shard {name} is not a regular file (a directory, FIFO or device).")
    return shard


# -- metadata and values -----------------------------------------------------------------------

Location = tuple[int, str]  # (shard index, dataset path in that shard)


def read_sharded_weights(path: str, label: str | None = None) -> tuple[TracedModel, ValueReader]:
    """The checkpoint as a model without data flow (as ``read_weights_file`` makes one of a
    single ``.weights.h5``), and a function streaming its variables' values."""
    index = read_index(path)
    found: dict[tuple[str, str], tuple[VariableInfo, Location, int]] = {}
    for number, shard in enumerate(index.shards):
        for layer, name, info, key, at in _shard_variables(shard):
            if (layer, name) in found:
                other = index.shards[found[layer, name][1][0]]
                raise LoadError(f"{path}: the variable {key} is in two shards ({os.path.basename(other)} and "
                                f"{os.path.basename(shard)}); the checkpoint is damaged. Save it again.")  # fmt: skip
            found[layer, name] = (info, (number, key), at)
            if len(found) > MAX_VARIABLES:
                raise LoadError(f"{path}: more than {MAX_VARIABLES:,} variables across its shards; not a "
                                "checkpoint modelscope reads.")  # fmt: skip
    if not found:
        raise LoadError(f"{path}: its shards hold no weights (no layers/.../vars datasets). Save the weights again.")
    order = sorted(found, key=lambda item: (item[0], int(item[1]) if item[1].isdigit() else 0, item[1]))
    variables = tuple(found[item][0] for item in order)
    places = tuple(found[item][1] for item in order)
    starts = [found[item][2] for item in order]
    on_disk = sorted(range(len(places)), key=lambda i: (places[i][0], starts[i], i))  # shard, then offset
    traced = weights_model(path, variables, label)
    return traced, lambda chosen, storage_order=False: sharded_values(index, chosen, places,
                                                                      on_disk if storage_order else None)  # fmt: skip


def _shard_variables(shard: str) -> list[tuple[str, str, VariableInfo, str, int]]:
    """(layer path, variable name, info, dataset path, its offset) of one shard, Keras 3 layout."""
    with _open(shard) as f:
        try:
            return [(layer, name, _variable(f, layer, name, key), key, offset(f, key))
                    for layer, name, key in _keras3_variables(f)]  # fmt: skip
        except _MALFORMED as e:
            raise LoadError(f"{shard}: not a Keras weights shard modelscope can read ({type(e).__name__}: {e}). "
                            "Save the weights again with model.save_weights().") from e  # fmt: skip


def sharded_values(index: ShardedIndex, variables: tuple[VariableInfo, ...], places: tuple[Location, ...],
                   order: list[int] | None = None) -> Iterator[tuple[VariableInfo, np.ndarray]]:  # fmt: skip
    """Each variable's value, in order (or in ``order``, indices: the shards' and their bytes' for a
    sequential read), from the shard holding it (at most ``OPEN_SHARDS`` shard
    files open, all in the reading thread). A background thread reads ahead while the values
    handed out and read ahead together stay within the largest variable's size (``streamed``):
    memory holds at most that, and reading overlaps the statistics of the value before."""
    memory = memory_bytes()
    handles: dict[int, Any] = {}

    def read(i: int) -> np.ndarray:
        shard, key = places[i]
        return read_value(_handle(index, shard, handles), key, variables[i], index.shards[shard], memory,
                          in_place=True)  # fmt: skip

    def close() -> None:
        for handle in handles.values():
            handle.close()

    return streamed(variables, read, close, memory, order)


OPEN_SHARDS = 8  # variables ordered by layer path may come from shards in turn


def _handle(index: ShardedIndex, shard: int, handles: dict[int, Any]) -> Any:
    """The open file of shard number ``shard``, checked again before it is opened."""
    handle = handles.pop(shard, None)
    if handle is None:
        if len(handles) >= OPEN_SHARDS:
            handles.pop(next(iter(handles))).close()  # the least recently used
        handle = _open(_shard_path(index.path, os.path.basename(index.shards[shard])))
    handles[shard] = handle
    return handle


def check_weights_option(path: str | os.PathLike[str]) -> None:
    """``--weights``: check the file before Keras reads it. A sharded index and its shards (Keras
    follows any name the index gives); in every HDF5 file, that no dataset keeps its values in
    another file (HDF5 external storage would make Keras read any file the weights name)."""
    from modelscope.load.stored_tree import check_file_storage

    name = os.fspath(path)
    files = [_shard_path(name, os.path.basename(s)) for s in read_index(name).shards] if name.lower().endswith(
        ".json") else [name]  # fmt: skip
    for file in (f for f in files if os.path.isfile(f)):  # a missing file is said where it is loaded
        try:
            opened = _open(file)
        except LoadError:
            continue  # not HDF5: Keras says why it cannot load it
        with opened as f:
            check_file_storage(f, file)


def shard_files(path: str) -> list[str]:
    """The shards of the index at ``path`` (for the files a run reads), or none when it is no index."""
    try:
        return list(read_index(path).shards) if path.lower().endswith(".weights.json") else []
    except (LoadError, OSError, ValueError):
        return []
