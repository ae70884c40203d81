"""Which layer each op of a compiled model call belongs to, at trace time and at run time.

``trace_owners`` traces a ``tf.function`` that calls the model while layer and functional-graph
operation calls are hooked (``call_hooks.py``): a call notes how many ops its graph holds on
entry, and on exit the ops created since then that no inner call claimed (inner calls exit
first) belong to it.

At run time Grappler and the oneDNN rewrite rename some nodes; :class:`Owners` maps a runtime
``(node name, op type)`` back to a layer, trying in turn:

1. a fused convolution or matmul (``_MklNativeFusedConv2D``, ``_FusedMatMul``) keeps the name of
   the *last* op of its pattern (a BiasAdd, the next layer's residual Add or activation), so it
   goes to the layer owning its weights input (input 1 in the post-Grappler graph): the
   convolution's or dense layer's, which then holds the fused bias, activation and add;
2. the exact name (most nodes keep theirs), without a ``gradient_tape/`` prefix for the ops of a
   gradient (they are named after the forward op they differentiate);
3. Grappler's names (``.../ArithmeticOptimizer/AddOpsRewrite_...``): the longest prefix that is
   an owned op's name, else the longest name scope whose ops belong to one layer or to one layer
   and its sublayers (that layer).
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

from modelscope.trace.call_hooks import hooked_calls

MODEL = "(model)"  # ops the model's own call created outside every layer
_ANCHORS = frozenset({"Conv2D", "Conv3D", "DepthwiseConv2dNative", "MatMul", "BatchMatMul", "BatchMatMulV2",
                      "BatchMatMulV3", "Conv2DBackpropInput", "Einsum"})  # fmt: skip
_GRAPPLER = ("ConstantFolding/", "ArithmeticOptimizer/", "LayoutOptimizer/", "DependencyOptimizer/")
_GRADIENT = "gradient_tape/"


def trace_owners(model: Any, function: Any, tensors: list[Any], paths: dict[int, str]) -> tuple[Any, dict[str, str]]:
    """Trace ``function(tensors)`` with the layer hooks on: its concrete function and {op name:
    owner}, where the owner is ``paths[id(layer)]`` of the innermost layer with a path whose call
    created the op (a layer without one gives its ops to its caller), or :data:`MODEL`."""
    import tensorflow as tf

    owner: dict[str, str] = {}
    stack: list[str] = []  # the paths of the calls running
    main: list[Any] = []  # the traced function's graph: ops of other graphs (a scratch graph Keras
    # infers shapes in) are no ops of it

    def ours(graph: Any) -> bool:
        while graph is not None:
            if main and graph is main[0]:
                return True
            graph = getattr(graph, "outer_graph", None)
        return False

    def record(original: Any, op: Any, a: tuple[Any, ...], k: dict[str, Any]) -> Any:
        if tf.executing_eagerly():
            return original(op, *a, **k)
        graph = tf.compat.v1.get_default_graph()
        if not main:
            main.append(graph)
        path = MODEL if op is model else paths.get(id(op), stack[-1] if stack else MODEL)
        start = len(graph.get_operations())
        stack.append(path)
        try:
            return original(op, *a, **k)
        finally:
            stack.pop()
            if ours(graph):
                for created in graph.get_operations()[start:]:
                    owner.setdefault(created.name, path)

    with hooked_calls(model, record):
        concrete = function.get_concrete_function(tensors)
    return concrete, owner


def instantiate(function: Any, tensors: list[Any], sync: Callable[[Any], None]) -> list[Any]:
    """Make the first call of ``function`` (where its graph is optimised and instantiated) with
    graph collection on: the post-Grappler GraphDefs, which show what each fused node fused."""
    from tensorflow.python.eager import context

    ctx = context.context()
    ctx.enable_run_metadata()
    ctx.enable_graph_collection()
    try:
        sync(function(tensors))
        meta = ctx.export_run_metadata()
    finally:
        ctx.disable_graph_collection()
        ctx.disable_run_metadata()
    return [g.post_optimization_graph for g in meta.function_graphs] if meta is not None else []


class Owners:
    """Runtime ``(node name, op type)`` -> (owner, the rule that found it): a layer path or
    :data:`MODEL`, or None when no rule applies (see the module's docstring)."""

    def __init__(self, owner: dict[str, str], graph: Any, optimized: list[Any]) -> None:
        self.owner = owner
        self.pre = {op.name: op for op in graph.get_operations()}
        self.post = {n.name: n for g in optimized for n in g.node}
        scopes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for name, path in owner.items():
            parts = name.split("/")
            for i in range(1, len(parts)):
                scopes["/".join(parts[:i])][path] += 1
        known = set(owner.values())
        self.scope = {s: common for s, c in scopes.items() if (common := _common(list(c), known))}
        self.cache: dict[tuple[str, str], tuple[str | None, str]] = {}

    def __call__(self, name: str, kind: str) -> tuple[str | None, str]:
        key = (name, kind)
        if key not in self.cache:
            anchor = self._anchor(name) if "Fused" in kind and ("Conv" in kind or "MatMul" in kind) else None
            self.cache[key] = (anchor, "fused kernel -> weights' layer") if anchor else self.by_name(name)
        return self.cache[key]

    def by_name(self, name: str) -> tuple[str | None, str]:
        if name in self.owner:
            return self.owner[name], "exact name"
        base = name.removeprefix(_GRADIENT)
        for prefix in _GRAPPLER:
            base = base.replace(prefix, "")
        last = base.rsplit("/", 1)[-1]
        if "-" in last:  # the layout optimizer's suffixes
            base = base[: len(base) - len(last)] + last.split("-")[0]
        if base in self.owner:
            return self.owner[base], "gradient of" if name.startswith(_GRADIENT) else "renamed"
        parts = base.split("/")
        for i in range(len(parts) - 1, 0, -1):
            head = "/".join(parts[:i])
            if head in self.owner:
                return self.owner[head], "name prefix"
            if head in self.scope:
                return self.scope[head], "name scope"
        return None, "unattributed"

    def _anchor(self, name: str) -> str | None:
        """The layer of the conv/matmul a fused node was built from: its weights input in the
        post-Grappler graph, else a short walk back from the pre-Grappler op that kept the name."""
        node = self.post.get(name)
        if node is not None and len(node.input) > 1:
            found, _ = self.by_name(node.input[1].lstrip("^").split(":")[0])
            if found is not None:
                return found
        frontier = [self.pre[name]] if name in self.pre else []
        seen: set[str] = set()
        for _ in range(5):
            step = []
            for op in frontier:
                if op.type in _ANCHORS:
                    return self.owner.get(op.name)
                for t in op.inputs:
                    if t.op.name not in seen:
                        seen.add(t.op.name)
                        step.append(t.op)
            frontier = step
        return None


def _common(paths: list[str], known: set[str]) -> str | None:
    """The one layer whose subtree holds all of ``paths`` (itself one of them, or a layer that owns
    ops), else None."""
    if len(paths) == 1:
        return paths[0]
    split = [p.split("/") for p in paths]
    common = []
    for parts in zip(*split):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    found = "/".join(common)
    return found if found in known else None
