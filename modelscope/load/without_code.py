"""Reading a ``.keras`` or legacy ``.h5`` model file without its code (``--no-code``, a missing
class, a Lambda safe mode refuses): the layer tree, classes, settings, connections and shapes its
configuration records, and each layer's variables from its weights. No class is imported, no
stored code runs, TensorFlow is not imported; shapes that only a trace could give stay unknown.

Where the configuration lists a Sequential's or Functional's layers, each is matched by its
Keras name to its group in the weights; a subclassed model's configuration lists none, so its
tree is the one the weights record (attributes, lists, Sequential layers in order). A class the
configuration does not give is unknown, unless the layer sits in a ``layers`` list under the
name of a built-in class whose variables fit (:mod:`known_layers`).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from modelscope.errors import LoadError
from modelscope.load.keras_file import stored_config
from modelscope.load.known_layers import class_of_slot, variable_names
from modelscope.load.stored_config import (
    ConfigLayer,
    as_dict,
    endpoints,
    input_shape,
    layer_entries,
    policy_dtype,
    shape,
)
from modelscope.load.stored_tree import StoredLayer, read_keras3_tree, read_legacy_tree, slot_base
from modelscope.load.weights_h5 import memory_bytes, read_value
from modelscope.model.report import Edge, InputInfo, ModelInfo, OutputInfo, VariableInfo
from modelscope.model.settings import CONFIG_KEYS, config_value
from modelscope.model.shapes import Shape
from modelscope.model.traced import TracedLayer, TracedModel

MAX_NESTING = 64
_RNN_CELLS = {"LSTM": "LSTMCell", "GRU": "GRUCell", "SimpleRNN": "SimpleRNNCell"}


class _Member(io.RawIOBase):
    """A stored (uncompressed) zip member as a seekable file, without copying it."""

    def __init__(self, raw: Any, start: int, size: int) -> None:
        self._raw, self._start, self._size, self._pos = raw, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._pos, self._size)[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self._size - self._pos))
        self._raw.seek(self._start + self._pos)
        data = self._raw.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


@contextmanager
def weights_file(path: str) -> Iterator[Any]:
    """The HDF5 weights of a model file, opened read-only with h5py."""
    import h5py

    try:
        if not path.lower().endswith(".keras"):
            with h5py.File(path, "r") as f:
                yield f
            return
        with open(path, "rb") as raw, zipfile.ZipFile(raw) as z:
            info = z.getinfo("model.weights.h5")
            if info.compress_type == zipfile.ZIP_STORED:
                raw.seek(info.header_offset + 26)
                name_len, extra_len = int.from_bytes(raw.read(2), "little"), int.from_bytes(raw.read(2), "little")
                member: Any = _Member(raw, info.header_offset + 30 + name_len + extra_len, info.file_size)
            else:
                member = z.open(info)
            with h5py.File(member, "r") as f:
                yield f
    except KeyError as e:
        raise LoadError(f"{path}: the file holds no model.weights.h5 ({e}); save the model again") from e
    except (OSError, zipfile.BadZipFile, ValueError) as e:
        raise LoadError(f"{path}: its weights cannot be read ({e}); save the model again") from e


@dataclass
class _Built:
    layers: list[TracedLayer] = field(default_factory=list)
    variables: list[VariableInfo] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    guessed_trainable: int = 0  # variables of classes that do not say which of theirs are trainable
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # layer path -> its stored config
    built_for: dict[str, Shape] = field(default_factory=dict)  # layer path -> the input shape it was built for


def _entries_by_name(entry: dict[str, Any] | None) -> dict[str, ConfigLayer]:
    return {c.name: c for c in layer_entries(entry)} if entry else {}


def _own_variables(b: _Built, node: StoredLayer, path: str, cls: str, inner: dict[str, Any], trainable: bool) -> None:
    """The layer's variables, named by the file (legacy .h5) or by its class's rule, else by position."""
    rule = variable_names(cls, inner, len(node.variables))
    recorded = [v.name for v in node.variables]
    if all(recorded) and rule and [r[0] for r in rule] != [n.rpartition("/")[2] for n in recorded]:  # type: ignore[union-attr]
        rule = None
    if rule is None:
        b.guessed_trainable += sum(v.trainable is None for v in node.variables)
    for i, v in enumerate(node.variables):
        name = v.name or (rule[i][0] if rule else str(v.index))
        own_trainable = v.trainable if v.trainable is not None else rule[i][1] if rule else True
        b.variables.append(VariableInfo(f"{path}/{name}" if path else name, path, v.shape, v.dtype,
                                        trainable and own_trainable))  # fmt: skip
        b.keys.append(v.key)


def _visit(b: _Built, node: StoredLayer, entry: ConfigLayer | None, cls: str, path: str, depth: int,
           trainable: bool) -> list[int]:  # fmt: skip
    """Add ``node`` and its sublayers; returns the indices of their variables."""
    inner = as_dict(entry.config.get("config")) if entry else {}
    trainable = trainable and inner.get("trainable") is not False
    start = len(b.variables)
    children = _entries_by_name(entry.config if entry else None)
    _add_unstored(node, children)
    if depth:
        _own_variables(b, node, path, cls, inner, trainable)
    order = {name: i for i, name in enumerate(children)}  # the configuration's order, where it lists them
    taken: set[str] = set()
    for child in sorted(node.children, key=lambda c: order.get(c.name, len(order)) if c.attr is None else len(order)):
        child_entry = children.get(child.name) if child.attr is None else None
        if child_entry is None and child.known:  # its own record (Keras 2 SavedModels keep one per layer)
            child_entry = ConfigLayer(
                child.name,
                str(child.known.get("class_name", "")),
                child.known,
                built_for=shape(as_dict(child.known.get("build_config")).get("input_shape")),
            )
        child_cls = child_entry.cls if child_entry else _class_hint(cls, child)
        if child_cls == "InputLayer":  # an input of the model, not a layer (as Keras counts them)
            continue
        part = child.attr or child.name
        while part in taken:
            part += "#"
        taken.add(part)
        child_path = f"{path}/{part}" if path else part
        at = len(b.layers)
        b.layers.append(TracedLayer(child_path, child.name, child.attr, child_cls, depth + 1, path or None, (), (),
                                    1, True, ()))  # fmt: skip
        owned = _visit(b, child, child_entry, child_cls, child_path, depth + 1, trainable)
        settings = as_dict(child_entry.config.get("config")) if child_entry else {}
        if child_entry:
            b.configs[child_path] = child_entry.config
        recorded = shape(as_dict((child.known or {}).get("build_config")).get("input_shape"))
        if recorded or child_entry and child_entry.built_for:
            b.built_for[child_path] = recorded or child_entry.built_for  # type: ignore[union-attr,assignment]
        b.layers[at] = TracedLayer(
            child_path, child.name, child.attr, child_cls, depth + 1, path or None, (), (),
            max(1, len(child_entry.calls)) if child_entry else 1, True, tuple(owned),
            config={k: config_value(settings[k]) for k in CONFIG_KEYS if k in settings},
        )  # fmt: skip
    return list(range(start, len(b.variables)))


def _add_unstored(node: StoredLayer, listed: dict[str, ConfigLayer]) -> None:
    """Layers the configuration lists but the weights do not hold as groups: operations between
    layers (``x + y`` is an ``Add``), and in a legacy ``.h5`` the layers of a nested model, whose
    variables the file keeps with the nested model under their paths (``dense/kernel``)."""
    stored = {c.name for c in node.children if c.attr is None}
    for name, entry in listed.items():
        if name in stored or entry.cls == "InputLayer":
            continue
        mine = [v for v in node.variables if v.name and v.name.startswith(name + "/")]
        node.variables = [v for v in node.variables if v not in mine]
        moved = [replace(v, name=v.name.removeprefix(name + "/")) for v in mine if v.name]
        node.children.append(StoredLayer(name, name, None, moved))


def _class_hint(parent_cls: str, child: StoredLayer) -> str:
    if child.attr == "cell" and parent_cls in _RNN_CELLS:
        return _RNN_CELLS[parent_cls]
    if child.has_layers:  # a Sequential or Functional, named automatically (else: a subclass of one)
        return {"sequential": "Sequential", "functional": "Functional"}.get(slot_base(child.name), "")
    slot = child.slot if child.attr is None else child.name  # a list slot, or an automatic Keras name
    return class_of_slot(slot_base(slot), len(child.variables)) or ""


def _wire(b: _Built, entry: dict[str, Any], parent: str, root: bool) -> tuple[list[InputInfo], list[OutputInfo]]:
    """Shapes and edges among one Sequential's or Functional's layers, as its configuration
    records them; for the model itself, its inputs and outputs too."""
    entries = layer_entries(entry)
    here = {layer.name: i for i, layer in enumerate(b.layers) if (layer.parent or "") == parent}
    dtype = policy_dtype(as_dict(entry.get("config")))
    if entry.get("class_name") == "Sequential" or entries and not any(e.calls for e in entries):
        return _chain(b, entries, here, as_dict(entry.get("build_config")), dtype)
    if not entries:
        built = shape(as_dict(entry.get("build_config")).get("input_shape"))
        return ([InputInfo("input", built, dtype)] if built and root else []), []
    inputs_of = {e.name: e for e in entries if e.cls == "InputLayer"}
    produced: dict[tuple[str, int], Shape | None] = {}
    consumers: dict[str, list[str]] = {}
    for e in entries:
        e.built_for = e.built_for or (b.built_for.get(b.layers[here[e.name]].path) if e.name in here else None)
    for e in entries:
        for call in e.calls:
            for source in call:
                seen = source.shape or (e.built_for if len(call) == 1 else None)  # legacy: what e was built for
                if produced.get((source.layer, source.tensor)) is None:
                    produced[(source.layer, source.tensor)] = seen
                if e.name not in here:
                    continue
                if source.layer in inputs_of:
                    consumers.setdefault(source.layer, []).append(b.layers[here[e.name]].path)
                elif source.layer in here:
                    b.edges.append(Edge(b.layers[here[source.layer]].path, b.layers[here[e.name]].path))
    for e in entries:
        if e.name in here:
            recorded = tuple(s.shape for s in e.calls[0]) if e.calls else ()
            ins = recorded if any(recorded) else (e.built_for,) if e.built_for else ()
            outs = tuple(v for _, v in sorted((k[1], v) for k, v in produced.items() if k[0] == e.name))
            b.layers[here[e.name]] = replace(b.layers[here[e.name]], input_shapes=ins, output_shapes=outs)
    inputs = []
    for name, _, _ in endpoints(entry, "input_layers"):
        found, input_dtype = input_shape(inputs_of[name].config) if name in inputs_of else (None, dtype)
        inputs.append(InputInfo(name, found, input_dtype, tuple(dict.fromkeys(consumers.get(name, [])))))
    outputs = [OutputInfo(name, produced.get((name, t)), dtype, (b.layers[here[name]].path,) if name in here else ())
               for name, _, t in endpoints(entry, "output_layers")]  # fmt: skip
    return inputs, outputs


def _chain(b: _Built, entries: list[ConfigLayer], here: dict[str, int], build: dict[str, Any], dtype: str
           ) -> tuple[list[InputInfo], list[OutputInfo]]:  # fmt: skip
    """A Sequential: each layer feeds the next; each was built for the previous one's output."""
    first = next((e for e in entries if e.cls == "InputLayer"), None)
    found, input_dtype = input_shape(first.config) if first else (shape(build.get("input_shape")), dtype)
    chain = [e for e in entries if e.name in here]
    shapes = [e.built_for or b.built_for.get(b.layers[here[e.name]].path) for e in chain] + [None]
    for k, e in enumerate(chain):
        i = here[e.name]
        b.layers[i] = replace(b.layers[i], input_shapes=(shapes[k],) if shapes[k] else (),
                              output_shapes=(shapes[k + 1],) if shapes[k + 1] else ())  # fmt: skip
        if k:
            b.edges.append(Edge(b.layers[here[chain[k - 1].name]].path, b.layers[i].path))
    first_path = (b.layers[here[chain[0].name]].path,) if chain else ()
    last_path = (b.layers[here[chain[-1].name]].path,) if chain else ()
    return [InputInfo("input", found, input_dtype, first_path)], [OutputInfo("output", None, dtype, last_path)]


def _kind(cls: str, tree: StoredLayer) -> str:
    if cls == "Sequential":
        return "sequential"
    if tree.has_layers:
        return "functional"
    return "hybrid" if any(c.has_layers for c in tree.children) else "subclassed"


def read_without_code(path: str, label: str | None, reason: str
                      ) -> tuple[TracedModel, Callable[[tuple[VariableInfo, ...]], Iterator[tuple[VariableInfo, np.ndarray]]]]:  # fmt: skip # noqa: E501
    """The model file as a TracedModel, and a reader of the report's variables' values."""
    config = stored_config(path)
    legacy = not path.lower().endswith(".keras")
    with weights_file(path) as f:
        try:
            tree = read_legacy_tree(f, path) if legacy else read_keras3_tree(f, path)
        except (KeyError, TypeError, ValueError, AttributeError, OSError, RecursionError, UnicodeError) as e:
            raise LoadError(f"{path}: its weights are not laid out as Keras writes them ({e}); save it again") from e
    traced, keys = assemble(tree, config, label or path, reason)
    return traced, lambda variables: _values(path, variables, keys)


def assemble(tree: StoredLayer, config: dict[str, Any], label: str, reason: str) -> tuple[TracedModel, tuple[str, ...]]:
    """The stored layer tree and the model's stored configuration as a TracedModel; and for each
    of its variables, the key of its value in the file."""
    cls = str(config["class_name"]) if isinstance(config.get("class_name"), str) else ""
    kind = _kind(cls, tree)
    b = _Built()
    root_entry = ConfigLayer(tree.name, cls, config)
    _visit(b, tree, root_entry, cls, "", 0, True)
    own = len(b.variables)
    _own_variables(b, tree, "", cls, as_dict(config.get("config")), True)
    order = list(range(own, len(b.variables))) + list(range(own))
    b.variables, b.keys = [b.variables[i] for i in order], [b.keys[i] for i in order]
    remap = {old: new for new, old in enumerate(order)}
    b.layers = [replace(layer, variables=tuple(remap[i] for i in layer.variables)) for layer in b.layers]
    ends: dict[str, tuple[list[str], list[str]]] = {}  # a nested model's first and last layers
    for layer in list(b.layers):  # nested Sequential and Functional models, as their configs record them
        if layer.cls in ("Sequential", "Functional") and layer.path in b.configs:
            ins, outs = _wire(b, b.configs[layer.path], layer.path, False)
            ends[layer.path] = ([c for i in ins for c in i.consumers], [p for o in outs for p in o.producers])
    inputs, outputs = _wire(b, config, "", True)
    # as a trace records them: from a nested model's last layer; into the model and its first layer
    b.edges = [Edge(s, d) for e in b.edges for s in _inner(e.src, ends, 1)
               for d in dict.fromkeys([e.dst, *_inner(e.dst, ends, 0)])]  # fmt: skip
    inputs = [replace(i, consumers=tuple(c for x in i.consumers for c in _inner(x, ends, 0))) for i in inputs]
    outputs = [replace(o, producers=tuple(q for x in o.producers for q in _inner(x, ends, 1))) for o in outputs]
    name = as_dict(config.get("config")).get("name")
    model = ModelInfo(name if isinstance(name, str) else tree.name, cls, kind, label)
    notes = [f"read without the model's code ({reason}): what only a trace shows (output shapes, compute) is "
             "unknown"]  # fmt: skip
    if b.guessed_trainable:
        notes.append(f"the file does not record which of {b.guessed_trainable} variables (of classes modelscope "
                     "cannot see) are trainable: they are counted as trainable")  # fmt: skip
    traced = TracedModel(model, tuple(inputs), tuple(outputs), tuple(b.layers), tuple(dict.fromkeys(b.edges)),
                         tuple(b.variables), tuple(range(len(b.variables))), warnings=tuple(notes))  # fmt: skip
    return traced, tuple(b.keys)


def _inner(path: str, ends: dict[str, tuple[list[str], list[str]]], side: int, depth: int = 0) -> list[str]:
    """The layers inside a nested model where data enters it (side 0) or leaves it (side 1), as a
    trace connects them; the path itself for any other layer."""
    found = ends.get(path, ([], []))[side]
    if not found or depth > MAX_NESTING:
        return [path]
    return [q for p in found for q in _inner(p, ends, side, depth + 1)]


def _values(path: str, variables: tuple[VariableInfo, ...], keys: tuple[str, ...]
            ) -> Iterator[tuple[VariableInfo, np.ndarray]]:  # fmt: skip
    """Each variable's value, one dataset at a time."""
    memory = memory_bytes()
    with weights_file(path) as f:
        for info, key in zip(variables, keys):
            yield info, read_value(f, key, info, path, memory)
