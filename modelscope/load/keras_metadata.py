"""``keras_metadata.pb`` of a Keras-2 SavedModel, read without TensorFlow, tf_keras or protobuf.

The file is a serialized ``SavedMetadata`` (tf_keras ``protobuf/saved_metadata.proto``, package
``third_party.py.tf_keras.protobuf``): ``repeated SavedObject nodes = 1``, each ``int32 node_id = 2;
string node_path = 3; string identifier = 4; string metadata = 5`` (JSON) ``; VersionDef version = 6`` (not needed).

Node ids: ``node_id`` is the node's id in saved_model.pb's ``SavedObjectGraph``, and TensorFlow
writes the checkpoint's ``TrackableObjectGraph`` from the same list of objects, so the ids are the
same there (checked on Sequential, functional and subclassed models: same node count, same children
at every node, and ``node_path`` walked by child names from the root reaches ``node_id``).
:func:`node_variables` still walks ``node_path`` first and uses ``node_id`` only where the walk fails.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from modelscope.errors import LoadError
from modelscope.load.tf_checkpoint import Corrupt, Schema, TrackableNode, decode

__all__ = ["NodeVariable", "SavedNode", "node_variables", "read_keras_metadata", "resolve_node"]

MAX_METADATA_BYTES = 64 << 20  # a functional model of 1,000 layers writes a few MB

_SAVED_OBJECT: Schema = {2: ("node_id", "int", False), 3: ("node_path", "str", False), 4: ("identifier", "str", False),
                         5: ("metadata", "str", False)}  # fmt: skip
_SAVED_METADATA: Schema = {1: ("nodes", _SAVED_OBJECT, True)}


@dataclass(frozen=True)
class SavedNode:
    """One Keras object of the model: ``root``, ``root.layer_with_weights-0``, ``root.fe.layer-1``, ..."""

    node_id: int  # in saved_model.pb's object graph and in the checkpoint's (the same ids)
    node_path: str
    identifier: str  # _tf_keras_layer / _network / _model / _sequential / _input_layer / _metric / ...
    metadata: dict[str, Any]  # the parsed JSON: class_name, name, trainable, config, build_input_shape, ...


@dataclass(frozen=True)
class NodeVariable:
    """A variable of a Keras object, in the order of its ``variables`` (= ``layer.weights``)."""

    checkpoint_key: str  # "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    full_name: str  # the variable's TF name: "conv2d/kernel"
    trainable: bool


def _damaged(path: str, why: object) -> LoadError:
    return LoadError(f"{path}: damaged keras_metadata.pb ({why}); copy or save the model again")


def _node(path: str, proto: dict[str, Any]) -> SavedNode:
    text = proto["metadata"]
    try:
        metadata = json.loads(text) if text else {}
    except (ValueError, RecursionError) as e:
        raise _damaged(path, f"the metadata of {proto['node_path']!r} is not JSON: {str(e)[:80]}") from None
    if not isinstance(metadata, dict):
        raise _damaged(path, f"the metadata of {proto['node_path']!r} is not a JSON object")
    if proto["node_id"] < 0 or not proto["node_path"].startswith("root"):
        raise _damaged(path, f"node {proto['node_id']} at {proto['node_path']!r}")
    return SavedNode(proto["node_id"], proto["node_path"], proto["identifier"], metadata)


def read_keras_metadata(path: str | os.PathLike[str]) -> list[SavedNode]:
    """The Keras objects recorded in a Keras-2 SavedModel directory (or its ``keras_metadata.pb``), in file
    order (the root first)."""
    path = os.fspath(path)
    file = os.path.join(path, "keras_metadata.pb") if os.path.isdir(path) else path
    try:
        if os.path.getsize(file) > MAX_METADATA_BYTES:
            raise _damaged(file, f"larger than {MAX_METADATA_BYTES >> 20} MB")
        with open(file, "rb") as f:
            protos = decode(f.read(), _SAVED_METADATA)["nodes"]
    except FileNotFoundError:
        raise LoadError(f"{file}: no keras_metadata.pb; only Keras 2 (tf_keras) SavedModels have one") from None
    except (Corrupt, OSError) as e:
        raise _damaged(file, e) from None
    if not protos:
        raise _damaged(file, "it records no objects")
    return [_node(file, p) for p in protos]


def resolve_node(graph: list[TrackableNode], node: SavedNode) -> int | None:
    """The checkpoint object-graph id of a metadata node: ``node_path`` walked by child names from the
    root, else ``node_id`` if the graph has it; None if neither."""
    at = 0
    for name in node.node_path.split(".")[1:]:
        nxt = next((c["node_id"] for c in graph[at]["children"] if c["local_name"] == name), None)
        if nxt is None:
            return node.node_id if node.node_id < len(graph) else None
        at = nxt
    return at


def _listed(graph: list[TrackableNode], at: int, name: str) -> list[int]:
    """The node ids a Keras list attribute (``variables``, ``trainable_variables``) of node ``at`` holds, in order."""
    ref = next((c["node_id"] for c in graph[at]["children"] if c["local_name"] == name), None)
    if ref is None:
        return []
    items = [(c["local_name"], c["node_id"]) for c in graph[ref]["children"] if c["local_name"].isdigit()]
    return [i for _, i in sorted(items, key=lambda item: (len(item[0]), item[0]))]  # numeric order


def node_variables(graph: list[TrackableNode], node: SavedNode) -> list[NodeVariable]:
    """A Keras object's variables (its sublayers' included), from the checkpoint's object graph
    (:func:`modelscope.load.tf_checkpoint.read_object_graph`)."""
    at = resolve_node(graph, node)
    if at is None:
        return []
    trainable = set(_listed(graph, at, "trainable_variables"))
    out = []
    for i in _listed(graph, at, "variables"):
        value = next((a for a in graph[i]["attributes"] if a["name"] == "VARIABLE_VALUE"), None)
        if value is not None:
            out.append(NodeVariable(value["checkpoint_key"], value["full_name"], i in trainable))
    return out
