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
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from modelscope.errors import LoadError
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


ValueReader = Callable[[tuple[VariableInfo, ...]], Iterator[tuple[VariableInfo, np.ndarray]]]
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


def read_weights_file(path: str, label: str | None = None) -> tuple[TracedModel, tuple[str, ...]]:
    """The weights file as a model without data flow: layers from its groups, variables with
    shapes and dtypes; and for each variable the dataset path holding its value. A file that
    does not have this structure is a LoadError naming what is wrong."""
    with _open(path) as f:
        try:
            entries = _keras2_variables(f) if "layer_names" in f.attrs else _keras3_variables(f)
            variables = tuple(_variable(f, layer, name, key) for layer, name, key in entries)
        except _MALFORMED as e:
            raise LoadError(f"{path}: not a Keras weights file modelscope can read ({type(e).__name__}: {e}). "
                            "Save the weights again with model.save_weights().") from e  # fmt: skip
        if not entries:
            raise LoadError(f"{path}: no weights found in this HDF5 file (neither Keras 3's layers/vars "
                            "groups nor Keras 2's layer_names).")  # fmt: skip
    return weights_model(path, variables, label), tuple(key for _, _, key in entries)


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


def read_value(f: Any, key: str, info: VariableInfo, path: str, memory: int) -> np.ndarray:
    """One dataset's value (refused, not read, when it claims more bytes than ``memory``)."""
    if info.bytes > memory:
        raise LoadError(f"{path}: {key} claims {info.bytes / 2**30:,.1f} GiB, more than this machine's "
                        "memory; the file is damaged or not what it seems.")  # fmt: skip
    try:
        return np.asarray(f[key][()])
    except _MALFORMED as e:
        raise LoadError(f"{path}: cannot read {key} ({type(e).__name__}: {e}).") from e


def weight_values(path: str, variables: tuple[VariableInfo, ...], keys: tuple[str, ...]
                  ) -> Iterator[tuple[VariableInfo, np.ndarray]]:  # fmt: skip
    """Each variable's value, read from the file one dataset at a time (a dataset claiming more
    bytes than this machine's memory is refused, not read), read ahead within the largest
    variable's size (see :class:`ReadAhead`)."""
    memory = memory_bytes()
    handle: list[Any] = []

    def read(i: int) -> np.ndarray:
        if not handle:
            handle.append(_open(path))
        return read_value(handle[0], keys[i], variables[i], path, memory)

    def close() -> None:
        for f in handle:
            f.close()

    return streamed(variables, read, close, memory)


def streamed(variables: tuple[VariableInfo, ...], read: Callable[[int], np.ndarray], close: Callable[[], None],
             memory: int) -> Iterator[tuple[VariableInfo, np.ndarray]]:  # fmt: skip
    """``(variable, read(i))`` in order, read ahead by a :class:`ReadAhead` whose budget is the
    largest variable; each value is dropped here before the next is asked for."""
    sizes = [min(info.bytes, memory) for info in variables]
    values = ReadAhead(sizes, read, close, budget=max(sizes, default=0)).values()
    try:
        for info in variables:
            value = next(values)
            yield info, value
            del value  # before the next is asked for: the reader counts it released then
    finally:
        values.close()


class ReadAhead:
    """Values ``read(0)``, ``read(1)``, ... produced by a background thread, in order, while the
    bytes held — the value last handed out (released when the next is asked for) and those read
    ahead — stay within ``budget``; a value larger than the budget is read when nothing is held.
    h5py releases the GIL while it reads, so reading overlaps the consumer's work. ``close`` runs
    in the thread when it ends; an error in ``read`` is raised in the consumer."""

    def __init__(self, sizes: list[int], read: Callable[[int], np.ndarray], close: Callable[[], None],
                 budget: int) -> None:  # fmt: skip
        self._sizes, self._read, self._close, self._budget = sizes, read, close, budget
        self._ready: deque[tuple[np.ndarray | None, BaseException | None]] = deque()
        self._held, self._stop = 0, False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="modelscope-read-ahead", daemon=True)

    def _room(self, size: int) -> bool:
        return self._stop or self._held == 0 or self._held + size <= self._budget

    def _run(self) -> None:
        try:
            for i, size in enumerate(self._sizes):
                with self._cond:
                    self._cond.wait_for(partial(self._room, size))
                    if self._stop:
                        return
                    self._held += size
                try:
                    item: tuple[np.ndarray | None, BaseException | None] = (self._read(i), None)
                except BaseException as e:  # handed to the consumer, raised there
                    item = (None, e)
                failed = item[1] is not None
                with self._cond:
                    self._ready.append(item)
                    self._cond.notify_all()
                del item
                if failed:
                    return
        finally:
            self._close()

    def values(self) -> Generator[np.ndarray, None, None]:
        """The values in order; stops the thread (after its current read) when closed early."""
        self._thread.start()
        try:
            for size in self._sizes:
                with self._cond:
                    self._cond.wait_for(lambda: bool(self._ready))
                    value, error = self._ready.popleft()
                if error is not None:
                    raise error
                assert value is not None
                yield value
                del value
                with self._cond:
                    self._held -= size
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._stop = True
                self._ready.clear()
                self._cond.notify_all()
            self._thread.join()
            self._ready.clear()  # what the thread read after being told to stop


def open_weights(path: str, label: str | None = None) -> tuple[TracedModel, ValueReader]:
    """A weights file (``.weights.h5``, Keras 2 ``.h5``) or a sharded checkpoint's index
    (``.weights.json``): the model, and a function streaming the values of (the report's) variables."""
    if path.lower().endswith(".json"):
        from modelscope.load.weights_sharded import read_sharded_weights

        return read_sharded_weights(path, label)
    traced, keys = read_weights_file(path, label)
    return traced, lambda variables: weight_values(path, variables, keys)
