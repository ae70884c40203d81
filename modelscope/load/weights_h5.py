"""Reading a weights-only HDF5 file (``model.save_weights``) with h5py: no TensorFlow, no model.

Two layouts are known. Keras 3's ``.weights.h5``: one group per layer along the attribute path
(``fe/layers/conv2d/vars/0``; ``layers`` is a container's list and is left out of the layer
path), its variables as datasets ``0, 1, ...`` of a ``vars`` group, unnamed. Keras 2's ``.h5``
weights: root attribute ``layer_names``, and per layer group a ``weight_names`` attribute naming
its datasets (``dense/kernel:0``).

Only metadata is read for the report, so a file of any size summarises in milliseconds; values
are read one dataset at a time (``weight_values``). A weights file does not record which
variables are trainable: all count as trainable. Sharded checkpoints (``x.weights.json`` and its
shards) are read by ``weights_sharded.py``; ``open_weights`` takes either.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from modelscope.errors import LoadError
from modelscope.load.mapped import mapped
from modelscope.load.read_ahead import streamed
from modelscope.load.stored_tree import check_storage
from modelscope.model.report import ModelInfo, VariableInfo
from modelscope.model.traced import TracedLayer, TracedModel


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _keras3_variables(f: Any) -> list[tuple[str, str, str]]:
    """(layer path, variable name, dataset path) for the Keras 3 layout."""
    found: list[tuple[str, str, str]] = []

    def visit(name: str, obj: Any) -> None:
        parts = name.split("/")
        if hasattr(obj, "shape") and len(parts) >= 2 and parts[-2] == "vars":
            layer = "/".join(p for p in parts[:-2] if p != "layers")
            found.append((layer, parts[-1], name))

    f.visititems(visit)
    return sorted(found, key=lambda item: (item[0], int(item[1]) if item[1].isdigit() else 0, item[1]))


def _keras2_variables(f: Any) -> list[tuple[str, str, str]]:
    """(layer path, variable name, dataset path) for the Keras 2 layout (``layer_names``)."""
    found = []
    for layer in (_text(n) for n in f.attrs["layer_names"]):
        for weight in (_text(n) for n in f[layer].attrs.get("weight_names", [])):
            found.append((layer, weight.rpartition("/")[2].removesuffix(":0"), f"{layer}/{weight}"))
    return found


def _open(path: str) -> Any:
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise LoadError(f"{path}: the HDF5 file is damaged or truncated ({e}). Save the weights again.") from e


ValueReader = Callable[..., Iterator[tuple[VariableInfo, np.ndarray]]]  # (variables, storage_order=False)
"""Streams the values of the given variables (those of the report built from the file), one at a time."""

_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, OSError, RecursionError, UnicodeError)


def _variable(f: Any, layer: str, name: str, key: str) -> VariableInfo:
    import h5py

    if not isinstance(f.get(key, getlink=True), h5py.HardLink):  # an external link could open a FIFO
        raise ValueError(f"{key} is a link to another file, not a dataset of this one")
    data = f[key]
    if not hasattr(data, "shape") or data.shape is None or data.dtype.kind in "OSUa" or data.dtype.names:
        raise ValueError(f"{key} is not a numeric dataset")
    check_storage(data, f.filename)
    return VariableInfo(f"{layer}/{name}" if layer else name, layer, tuple(int(d) for d in data.shape),
                        np.dtype(data.dtype).name, True)  # fmt: skip


def read_weights_file(path: str, label: str | None = None) -> tuple[TracedModel, tuple[str, ...], list[int]]:
    """The weights file as a model without data flow: layers from its groups, variables with
    shapes and dtypes; for each variable the dataset path holding its value; and the variables'
    indices in the order their bytes lie in the file (``offset``). A file that does not have this
    structure is a LoadError naming what is wrong."""
    with _open(path) as f:
        try:
            entries = _keras2_variables(f) if "layer_names" in f.attrs else _keras3_variables(f)
            variables = tuple(_variable(f, layer, name, key) for layer, name, key in entries)
            offsets = [offset(f, key) for _, _, key in entries]
        except _MALFORMED as e:
            raise LoadError(f"{path}: not a Keras weights file modelscope can read ({type(e).__name__}: {e}). "
                            "Save the weights again with model.save_weights().") from e  # fmt: skip
        if not entries:
            raise LoadError(f"{path}: no weights found in this HDF5 file (neither Keras 3's layers/vars "
                            "groups nor Keras 2's layer_names).")  # fmt: skip
    keys = tuple(key for _, _, key in entries)
    return weights_model(path, variables, label), keys, sorted(range(len(keys)), key=lambda i: (offsets[i], i))


def weights_model(path: str, variables: tuple[VariableInfo, ...], label: str | None) -> TracedModel:
    """A model without data flow: one layer per group path holding variables (and its parents)."""
    paths = sorted({"/".join(v.layer.split("/")[: i + 1]) for v in variables if v.layer
                    for i in range(v.layer.count("/") + 1)})  # fmt: skip
    layers = tuple(
        TracedLayer(
            path=p, name=p.rpartition("/")[2], attr=None, cls="", depth=p.count("/") + 1,
            parent=p.rpartition("/")[0] or None, input_shapes=(), output_shapes=(), calls=0, built=True,
            variables=tuple(i for i, v in enumerate(variables) if v.layer == p or v.layer.startswith(p + "/")),
        )
        for p in paths
    )  # fmt: skip
    name = Path(path).name
    for suffix in (".weights.h5", ".weights.hdf5", ".weights.json", ".h5", ".hdf5", ".json"):
        name = name.removesuffix(suffix)
    model = ModelInfo(name=name, cls="", kind="weights", source=label or path)
    return TracedModel(model=model, inputs=(), outputs=(), layers=layers, edges=(), variables=variables,
                       model_variables=tuple(range(len(variables))))  # fmt: skip


def memory_bytes() -> int:
    """This machine's physical memory (a bound no single variable may claim to exceed)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 2**63


def read_value(f: Any, key: str, info: VariableInfo, path: str, memory: int, in_place: bool = False) -> np.ndarray:
    """One dataset's value (refused, not read, when it claims more bytes than ``memory``);
    ``in_place``: mapped read-only from the file where its bytes allow (``mapped.py``)."""
    if info.bytes > memory:
        raise LoadError(f"{path}: {key} claims {info.bytes / 2**30:,.1f} GiB, more than this machine's "
                        "memory; the file is damaged or not what it seems.")  # fmt: skip
    try:
        dataset = f[key]
        value = mapped(f, dataset) if in_place else None
        return np.asarray(dataset[()]) if value is None else value
    except _MALFORMED as e:
        raise LoadError(f"{path}: cannot read {key} ({type(e).__name__}: {e}).") from e


def offset(f: Any, key: str) -> int:
    """Where the dataset's bytes start in the file (-1 for a chunked one, which has no one place):
    read in this order, a cold read is sequential as Keras wrote it, rather than in name order
    (``blocks_10`` before ``blocks_2``)."""
    found = f[key].id.get_offset()
    return -1 if found is None else int(found)


def weight_values(path: str, variables: tuple[VariableInfo, ...], keys: tuple[str, ...],
                  order: list[int] | None = None) -> Iterator[tuple[VariableInfo, np.ndarray]]:  # fmt: skip
    """Each variable's value, read from the file one dataset at a time (a dataset claiming more
    bytes than this machine's memory is refused, not read), read ahead within the largest
    variable's size (see ``read_ahead.py``); in the variables' order, or in ``order`` (indices)."""
    memory = memory_bytes()
    handle: list[Any] = []

    def read(i: int) -> np.ndarray:
        if not handle:
            handle.append(_open(path))
        return read_value(handle[0], keys[i], variables[i], path, memory, in_place=True)

    def close() -> None:
        for f in handle:
            f.close()

    return streamed(variables, read, close, memory, order)


def open_weights(path: str, label: str | None = None) -> tuple[TracedModel, ValueReader]:
    """A weights file (``.weights.h5``, Keras 2 ``.h5``) or a sharded checkpoint's index
    (``.weights.json``): the model, and a function streaming the values of (the report's) variables."""
    if path.lower().endswith(".json"):
        from modelscope.load.weights_sharded import read_sharded_weights

        return read_sharded_weights(path, label)
    traced, keys, on_disk = read_weights_file(path, label)
    return traced, lambda variables, storage_order=False: weight_values(path, variables, keys,
                                                                        on_disk if storage_order else None)  # fmt: skip
