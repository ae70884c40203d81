"""The layer tree a Keras weights file records, read with h5py (no TensorFlow, no model class).

Keras 3 (``.keras``'s ``model.weights.h5``, ``.weights.h5``) writes one group per layer along its
attribute path, each with a ``vars`` group named after the layer (``name`` attribute) holding its
variables ``0, 1, …`` (trainable ones first). A Sequential or Functional model's layers sit in
its ``layers`` group, named after their class (``dense``, ``dense_1``); other lists and dicts of
layers sit under their attribute (``blocks/dense``); every other layer under its attribute
(``fe``). HDF5 lists a group's members by name; Keras writes a file once, in its own order, so
the members' object addresses give that order back (a Sequential's layers in sequence).

Legacy ``.h5`` model files (``model_weights`` with ``layer_names`` and ``weight_names``) record
a flat list of top-level layers, with each variable's name.

Every count, depth and size read here is bounded: the file is hostile data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from modelscope.errors import LoadError

MAX_GROUPS = 200_000  # layers and containers in one file
MAX_DEPTH = 64
_SKIPPED_AT_ROOT = ("optimizer", "compile_metrics", "loss_tracker", "_compile_metrics", "_loss_tracker")


@dataclass(frozen=True)
class StoredVariable:
    key: str  # dataset path in the file
    index: int  # position in the layer's variables (Keras: trainable ones first)
    name: str | None  # the name the file records (legacy .h5), else None
    shape: tuple[int, ...]
    dtype: str
    trainable: bool | None = None  # as the file records it (Keras 2 SavedModels), else unknown


@dataclass
class StoredLayer:
    """One layer group: ``attr`` is the attribute its parent holds it under (``fe``, ``blocks[1]``),
    None for a Sequential's or Functional's own layers; ``slot`` the group's name."""

    slot: str
    name: str
    attr: str | None
    variables: list[StoredVariable] = field(default_factory=list)
    children: list[StoredLayer] = field(default_factory=list)
    has_layers: bool = False  # it holds a ``layers`` list: a Sequential or Functional model
    known: dict[str, Any] | None = None  # its own serialized config, where the file keeps one per layer


def check_storage(data: Any, path: str) -> None:
    """Refuse a dataset whose values live in other files (HDF5 external storage or a virtual
    dataset): reading it would read any file the weights name, a device or a FIFO included."""
    if getattr(data, "is_virtual", False) or getattr(data, "external", None):
        raise LoadError(f"{path}: {data.name} keeps its values in other files, which modelscope does not read; "
                        "a Keras weights file holds its own values. Save the weights again.")  # fmt: skip


def check_file_storage(f: Any, path: str) -> None:
    """:func:`check_storage` for every dataset of an open HDF5 file (before Keras reads it)."""
    import h5py

    def visit(_: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            check_storage(obj, path)

    f.visititems(visit)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _address(group: Any, name: str) -> int:
    import h5py

    try:
        return int(h5py.h5o.get_info(group[name].id).addr)
    except (AttributeError, KeyError, TypeError, ValueError, OSError):
        return 0


def _members(group: Any) -> list[str]:
    """The group's hard-linked members in the order Keras wrote them."""
    import h5py

    names = [n for n in group if isinstance(group.get(n, getlink=True), h5py.HardLink)]
    return sorted(names, key=lambda n: (_address(group, n), n))


class _Budget:
    def __init__(self, path: str) -> None:
        self.path, self.left = path, MAX_GROUPS

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise LoadError(f"{self.path}: the weights file holds more than {MAX_GROUPS:,} layer groups; "
                            "it is damaged or not a Keras file")  # fmt: skip


def _variables(vars_group: Any, path: str) -> list[StoredVariable]:
    found = []
    for member in vars_group:
        data = vars_group.get(member)
        if not member.isdigit() or not hasattr(data, "shape") or data.shape is None:
            continue
        if data.dtype.kind not in "biuf" or data.dtype.names:
            raise LoadError(f"{path}: {data.name} is not a numeric dataset; the file is damaged")
        check_storage(data, path)
        shape = tuple(int(d) for d in data.shape)
        found.append(StoredVariable(data.name.lstrip("/"), int(member), None, shape, data.dtype.name))
    return sorted(found, key=lambda v: v.index)


def _layer(group: Any, slot: str, attr: str | None, depth: int, budget: _Budget) -> StoredLayer:
    budget.spend()
    if depth > MAX_DEPTH:
        raise LoadError(f"{budget.path}: layers nested more than {MAX_DEPTH} deep; the file is damaged")
    vars_group = group["vars"]
    layer = StoredLayer(slot, _text(vars_group.attrs.get("name", slot)), attr, _variables(vars_group, budget.path))
    for member in _members(group):
        if member == "vars" or depth == 0 and member in _SKIPPED_AT_ROOT:
            continue
        child = group[member]
        if not hasattr(child, "keys"):
            continue
        if "vars" in child:
            layer.children.append(_layer(child, member, member, depth + 1, budget))
            continue
        layer.has_layers |= member == "layers"
        for i, item in enumerate(m for m in _members(child) if hasattr(child[m], "keys") and "vars" in child[m]):
            held = None if member == "layers" else f"{member}[{i}]"
            layer.children.append(_layer(child[item], item, held, depth + 1, budget))
    return layer


def read_keras3_tree(f: Any, path: str) -> StoredLayer:
    """The root layer (the model) of a Keras 3 weights file opened with h5py."""
    if "vars" not in f:
        raise LoadError(f"{path}: the weights inside hold no Keras 3 layer groups; save the model again")
    return _layer(f, "", None, 0, _Budget(path))


def read_legacy_tree(f: Any, path: str) -> StoredLayer:
    """The root layer of a legacy ``.h5`` model file: its top-level layers, each variable named."""
    weights = f.get("model_weights", f)
    names = [_text(n) for n in weights.attrs.get("layer_names", [])]
    if len(names) > MAX_GROUPS:
        raise LoadError(f"{path}: the file lists {len(names):,} layers; it is damaged")
    root = StoredLayer("", _text(f.attrs.get("name", "model")), None)
    for name in names:
        group = weights.get(name)
        if group is None or not hasattr(group, "attrs"):
            raise LoadError(f"{path}: layer {name!r} is listed but its weights group is missing; save it again")
        layer = StoredLayer(name, name, None)
        for i, weight in enumerate(_text(w) for w in group.attrs.get("weight_names", [])):
            data = group.get(weight)
            if data is None or not hasattr(data, "shape") or data.dtype.kind not in "biuf":
                raise LoadError(f"{path}: weight {weight!r} of layer {name!r} is missing or not numeric")
            check_storage(data, path)
            short = weight.removeprefix(f"{name}/").removesuffix(":0")  # "sequential/dense/kernel": "dense/kernel"
            layer.variables.append(StoredVariable(data.name.lstrip("/"), i, short,
                                                  tuple(int(d) for d in data.shape), data.dtype.name))  # fmt: skip
        root.children.append(layer)
    root.has_layers = True
    return root


_AUTO_NUMBER = re.compile(r"_\d+$")


def slot_base(slot: str) -> str:
    """The class part of a layer's slot in a ``layers`` list (``max_pooling2d_1`` -> ``max_pooling2d``)."""
    return _AUTO_NUMBER.sub("", slot)
