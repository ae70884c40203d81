"""What a Keras model file's configuration records, read as plain JSON (no class is imported).

For a Functional model, each layer's call nodes: Keras 3 stores the tensors a layer was called
on with their shapes and where they came from (``keras_history``: layer, node, tensor); legacy
configs store ``[layer, node, tensor, kwargs]`` without shapes. For a Sequential, the layers in
order, with the shape each was built for. Everything read here is hostile data: every value is
checked for its type, and walks are iterative and bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from modelscope.model.shapes import Shape

MAX_RANK = 32
MAX_ITEMS = 1_000_000  # JSON nodes walked for one layer's call arguments


@dataclass(frozen=True)
class Source:
    layer: str  # Keras name of the layer (or InputLayer) the tensor came from
    node: int
    tensor: int
    shape: Shape | None


@dataclass
class ConfigLayer:
    """A layer as its parent's configuration describes it."""

    name: str
    cls: str
    config: dict[str, Any]
    calls: list[list[Source]] = field(default_factory=list)  # the tensors of each call, in order
    built_for: Shape | None = None  # build_config's input shape (a single input)


def shape(value: Any) -> Shape | None:
    """A recorded shape: a list of ints and nulls, else None (several shapes or garbage)."""
    if not isinstance(value, list) or len(value) > MAX_RANK:
        return None
    if not all(d is None or isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**62 for d in value):
        return None
    return tuple(value)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tensors(node: Any) -> Iterator[Source]:
    """Keras 3 ``__keras_tensor__`` entries anywhere in a call node's args/kwargs, in order."""
    todo, seen = [node], 0
    while todo and seen < MAX_ITEMS:
        item = todo.pop()
        seen += 1
        if isinstance(item, list):
            todo.extend(reversed(item))
        elif isinstance(item, dict):
            inner = as_dict(item.get("config"))
            history = inner.get("keras_history")
            if item.get("class_name") == "__keras_tensor__" and isinstance(history, list) and _history(history):
                yield Source(history[0], history[1], history[2], shape(inner.get("shape")))
            else:
                todo.extend(reversed(list(item.values())))


def _history(value: Any) -> bool:
    return (isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:3]))  # fmt: skip


def _legacy_call(node: Any) -> list[Source]:
    """``[[name, node, tensor, kwargs], ...]`` (Keras 2 and legacy .h5 configs)."""
    items = node if isinstance(node, list) else []
    return [Source(i[0], i[1], i[2], None) for i in items if _history(i)]


def _calls(entry: dict[str, Any]) -> list[list[Source]]:
    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, list):
        return []
    return [list(_tensors(n)) if isinstance(n, dict) else _legacy_call(n) for n in nodes[:MAX_ITEMS]]


def layer_entries(model_config: dict[str, Any]) -> list[ConfigLayer]:
    """The layers a Sequential's or Functional's configuration lists (InputLayers included)."""
    layers = as_dict(model_config.get("config")).get("layers")
    found = []
    for entry in layers if isinstance(layers, list) else []:
        if not isinstance(entry, dict):
            continue
        inner = as_dict(entry.get("config"))
        name = inner.get("name", entry.get("name"))
        cls = entry.get("class_name")
        if not isinstance(name, str) or not isinstance(cls, str):
            continue
        built = shape(as_dict(entry.get("build_config")).get("input_shape"))
        found.append(ConfigLayer(name, cls, entry, _calls(entry), built))
    return found


def endpoints(model_config: dict[str, Any], key: str) -> list[tuple[str, int, int]]:
    """A Functional's ``input_layers`` or ``output_layers``: (layer, node, tensor) each."""
    value = as_dict(model_config.get("config")).get(key)
    if _history(value):
        value = [value]
    return [(v[0], v[1], v[2]) for v in value if _history(v)] if isinstance(value, list) else []


def input_shape(entry: dict[str, Any]) -> tuple[Shape | None, str]:
    """An InputLayer's recorded batch shape and dtype."""
    inner = as_dict(entry.get("config"))
    found = shape(inner.get("batch_shape", inner.get("batch_input_shape")))
    dtype = inner.get("dtype")
    return found, dtype if isinstance(dtype, str) else policy_dtype(inner)


def policy_dtype(inner: dict[str, Any]) -> str:
    """The dtype a layer's (or model's) config names: a string or a DTypePolicy's name."""
    dtype = inner.get("dtype")
    if isinstance(dtype, str):
        return dtype
    name = as_dict(as_dict(dtype).get("config")).get("name")
    return name.removeprefix("mixed_") if isinstance(name, str) else "float32"
