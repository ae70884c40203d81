"""Reading a Keras-2 SavedModel (``tf_keras``, ``save_format="tf"``) without tf_keras or
TensorFlow: ``keras_metadata.pb`` records every layer (its path among the saved objects, class,
name, configuration, the shape it was built for) and the checkpoint in ``variables/`` records
each variable (its key, shape, dtype, whether it is trainable, and its value).

The layer tree is built from the metadata's node paths (``root.fe.layer_with_weights-0``: a
layer of ``fe``'s layers list; ``root.fe``: the attribute ``fe``) and assembled as a model file
read without its code is (:func:`modelscope.load.without_code.assemble`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from modelscope.errors import LoadError
from modelscope.load.keras_metadata import SavedNode, node_variables, read_keras_metadata
from modelscope.load.stored_tree import StoredLayer, StoredVariable
from modelscope.load.tf_checkpoint import Entry, read_index, read_object_graph, read_value
from modelscope.load.without_code import assemble
from modelscope.model.report import VariableInfo
from modelscope.model.traced import TracedModel

_LAYERS = ("_tf_keras_layer", "_tf_keras_network", "_tf_keras_model", "_tf_keras_sequential",
           "_tf_keras_rnn_layer", "_tf_keras_input_layer")  # fmt: skip
_LIST_ITEM = re.compile(r"layer(_with_weights)?-\d+")
MAX_DEPTH = 64


def plain(value: Any, depth: int = 0) -> Any:
    """tf_keras's JSON with its encodings undone: ``{"class_name": "TensorShape"|"__tuple__",
    "items": [...]}`` becomes a list (a shape), so configs read as Keras 3's do."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, list):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if value.get("class_name") in ("TensorShape", "__tuple__") and isinstance(value.get("items"), list):
            return plain(value["items"], depth + 1)
        return {k: plain(v, depth + 1) for k, v in value.items()}
    return value


def _serialized(metadata: dict[str, Any]) -> dict[str, Any]:
    """A node's metadata in the shape of a serialized layer: class, config, build shape."""
    return {"class_name": metadata.get("class_name"), "config": plain(metadata.get("config")),
            "build_config": {"input_shape": plain(metadata.get("build_input_shape"))}}  # fmt: skip


def _attr(parts: list[str]) -> str | None:
    """The attribute a node's path names under its parent layer: None for an item of a layers
    list; ``blocks[0]`` for a list attribute's item."""
    if len(parts) == 1 and _LIST_ITEM.fullmatch(parts[0]):
        return None
    head, *rest = parts
    return head + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in rest)


def _tree(path: str, nodes: list[SavedNode], graph: Any, entries: dict[str, Entry]) -> StoredLayer:
    layers = {n.node_path: n for n in nodes if n.identifier in _LAYERS}
    if "root" not in layers:
        raise LoadError(f"{path}: keras_metadata.pb records no root model; the SavedModel is damaged")
    built: dict[str, StoredLayer] = {}
    owned: dict[str, set[str]] = {}
    for node_path in sorted(layers, key=lambda p: (p.count("."), p)):  # parents first
        node = layers[node_path]
        parts = node_path.split(".")
        if len(parts) > MAX_DEPTH:
            raise LoadError(f"{path}: layers nested more than {MAX_DEPTH} deep; the SavedModel is damaged")
        parent = next((".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1) if ".".join(parts[:i]) in built),
                      None)  # fmt: skip
        name, known = node.metadata.get("name"), _serialized(node.metadata)
        attr = _attr(parts[parent.count(".") + 1 :]) if parent else None
        layer = StoredLayer(parts[-1], name if isinstance(name, str) else parts[-1], attr, known=known)
        variables = node_variables(graph, node)
        owned[node_path] = {v.checkpoint_key for v in variables}
        layer.variables = [_variable(path, entries, v.checkpoint_key, i, v.full_name, v.trainable)
                           for i, v in enumerate(variables)]  # fmt: skip
        layer.has_layers = isinstance(known["config"], dict) and "layers" in known["config"]
        built[node_path] = layer
        if parent is not None:
            built[parent].children.append(layer)
    for node_path, layer in built.items():  # each variable belongs to the deepest layer holding it
        below = set().union(*(owned[p] for p in built if p.startswith(node_path + ".")))
        layer.variables = [v for v in layer.variables if v.key not in below]
    return built["root"]


def _variable(path: str, entries: dict[str, Entry], key: str, index: int, full_name: str, trainable: bool
              ) -> StoredVariable:  # fmt: skip
    entry = entries.get(key)
    if entry is None:
        raise LoadError(f"{path}: variable {full_name!r} ({key}) is not in the checkpoint; copy the SavedModel again")
    name = full_name.removesuffix(":0").rpartition("/")[2] or str(index)
    return StoredVariable(key, index, name, entry.shape, entry.dtype, trainable)


def read_keras2_without_code(path: str, label: str | None, reason: str
                             ) -> tuple[TracedModel, Callable[[tuple[VariableInfo, ...]], Iterator[tuple[VariableInfo, np.ndarray]]]]:  # fmt: skip # noqa: E501
    """The SavedModel as a TracedModel, and a reader of the report's variables' values."""
    nodes = read_keras_metadata(path)
    entries = {e.key: e for e in read_index(path)}
    graph = read_object_graph(path, list(entries.values()))
    tree = _tree(path, nodes, graph, entries)
    traced, keys = assemble(tree, tree.known or {}, label or path, reason)

    def values(variables: tuple[VariableInfo, ...]) -> Iterator[tuple[VariableInfo, np.ndarray]]:
        for info, key in zip(variables, keys):
            yield info, read_value(path, entries[key])

    return traced, values
