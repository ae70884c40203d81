"""Layer and functional-graph operation calls routed through a hook while a block runs.

``modelscope profile`` needs to see each call twice: once eagerly, to keep every layer's arguments
(``profile.capture``), and once while the whole model is traced, to learn which layer created
each graph op (``op_owners.trace_owners``). Both see the same calls: ``Layer.__call__``, and
``Operation.__call__`` for the operations a functional model runs as nodes of its graph (``x[:, 0]``
is a ``GetItem`` row of the report); an operation a layer's own ``call()`` runs (ZeroPadding2D's
``pad``) is part of that layer and calls through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Hook = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]  # (original, op, args, kwargs)


@contextmanager
def hooked_calls(model: Any, hook: Hook) -> Iterator[None]:
    """While the block runs, each layer call and each functional-graph operation call goes through
    ``hook(original, op, args, kwargs)``, which must call ``original(op, *args, **kwargs)``; both
    ``__call__`` methods are restored afterwards, also when the block fails."""
    from keras.src.layers.layer import Layer
    from keras.src.models.functional import Functional
    from keras.src.ops.operation import Operation

    original_layer, original_op = Layer.__call__, Operation.__call__
    callers: list[Any] = []  # the layers (and operations) whose call is running, innermost last

    def through(original: Callable[..., Any], op: Any, a: tuple[Any, ...], k: dict[str, Any]) -> Any:
        callers.append(op)
        try:
            return hook(original, op, a, k)
        finally:
            callers.pop()

    def layer_call(layer: Any, *a: Any, **k: Any) -> Any:
        return through(original_layer, layer, a, k)

    def op_call(op: Any, *a: Any, **k: Any) -> Any:
        holder = callers[-1] if callers else model
        if isinstance(op, Layer) or not isinstance(holder, Functional):  # a Layer goes through layer_call;
            return original_op(op, *a, **k)  # an operation inside a layer's own call() is part of that layer
        return through(original_op, op, a, k)

    Layer.__call__, Operation.__call__ = layer_call, op_call
    try:
        yield
    finally:
        Layer.__call__, Operation.__call__ = original_layer, original_op
