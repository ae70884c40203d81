"""The layer tree and data flow of a SavedModel, recovered from saved_model.pb (see
:mod:`modelscope.load.savedmodel`; no TensorFlow here, only its parsed protobuf messages).

* **name scopes**, when the chosen signature's function has any that read variables (Keras models,
  however saved; Keras 3 exports track variables only in flat lists): its ops, nested calls
  included, are grouped by name scope. Scopes whose ops read a captured variable hold it; their
  ancestors are containers, and scopes directly in a container that read nothing are parameter-free
  layers (``max_pooling2d``). Scopes that ops open for themselves (``conv2d/convolution``,
  ``dense/Cast``, ``bn/batchnorm``) are not layers. A later scope with the same parent and the same
  variables as an earlier one is another call of it. Shapes come from the ops' ``_output_shapes``.
  The data flow (edges, call edges, inputs' consumers, outputs' producers) follows the ops' inputs
  as the live tracer does: through ops in no layer back to the layers that made theirs (:func:`_flow`).
* else **the object graph** (``tf.Module``s): a variable's first breadth-first path from the root
  not through a flat list of variables (``block/w`` -> layer ``block``, ``attr`` ``"block"``).

Keras 3 exports uniquify every scope (``conv2d`` -> ``conv2d_1``, ``conv2d_1`` -> ``conv2d_1_2``,
``cnn__model`` -> ``cnn__model_1``): when *every* scope component ends in ``_<n>`` and dropping one
suffix keeps paths distinct, it is dropped, which gives back the model's own layer names.

Limits: a parameter-free layer reused outside a repeated container shows once per call; one nested
in a parameter-free container is folded into it; ``cls`` is a guess from op types (``_CLS_GUESS``,
only for layers holding variables, pooling excepted) and ``""`` for containers and the model;
``keras.ops`` calls in a functional model have no scope in an export, so are no layers: edges pass
through them (``a -> add -> c`` live is ``a -> c`` here).
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from modelscope.model.report import CallInfo, SignatureInfo
from modelscope.model.shapes import Shape
from modelscope.model.traced import TracedLayer

_SUFFIX = re.compile(r"_\d+$")

_OP_SCOPE = re.compile(r"^(Cast|batchnorm)(_\d+)?$")  # scopes TF ops open without a node of that name

# Guessed layer classes: the first op type found among a layer's own ops decides.
_CLS_GUESS = (
    ("Conv2D", "Conv2D"), ("DepthwiseConv2dNative", "DepthwiseConv2D"), ("Conv3D", "Conv3D"), ("MatMul", "Dense"),
    ("ResourceGather", "Embedding"), ("FusedBatchNormV3", "BatchNormalization"), ("Rsqrt", "BatchNormalization"),
    ("MaxPool", "MaxPooling2D"), ("AvgPool", "AveragePooling2D"), ("GatherV2", "Embedding"),
)  # fmt: skip

_CALL_OPS = {"StatefulPartitionedCall", "PartitionedCall"}

_Link = tuple[str, int, str, int, bool]  # src, its call, dst, its call, via ops; "" = the model, as in CallEdge

# model name, layers, variable node -> (layer, short name), calls of layers called more than once, links
_Tree = tuple[str, list[TracedLayer], dict[int, tuple[str, str]], tuple[CallInfo, ...], dict[_Link, None]]


def proto_shape(proto: Any) -> Shape | None:
    return None if proto.unknown_rank else tuple(None if d.size < 0 else d.size for d in proto.dim)


def _parent(scope: str) -> str:
    return scope.rpartition("/")[0]


def natural_key(key: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key)]


def object_paths(nodes: Any, skip: Any = None) -> dict[int, list[str]]:
    """Each node's first breadth-first path of child names from the root (as checkpoints name them),
    not entering nodes for which ``skip(node)`` is true."""
    paths: dict[int, list[str]] = {0: []}
    queue = deque([0])
    while queue:
        i = queue.popleft()
        for child in nodes[i].children:
            if child.node_id not in paths and not (skip and skip(nodes[child.node_id])):
                paths[child.node_id] = paths[i] + [child.local_name]
                queue.append(child.node_id)
    return paths


class _Ops:
    """The ops of a function and of the functions it calls, names prefixed by the calling op's scope
    (a name taken already, such as a nested function's top-level ``Identity``, gets ``#<n>``)."""

    def __init__(self, library: dict[str, Any]) -> None:
        self.library = library
        self.ops: list[tuple[str, str, list[str]]] = []  # (name, type, resolved input refs)
        self.shapes: dict[str, Shape | None] = {}
        self.alias: dict[str, str] = {}
        self.names: set[str] = set()
        self.rets: list[str] = []  # what the entry function returns, in the signature's output order

    def resolve(self, ref: str) -> str:
        while ref in self.alias:
            ref = self.alias[ref]
        return ref

    def walk(self, fname: str, prefix: str, env: dict[str, str]) -> list[str]:
        f = self.library[fname]
        own = {}
        for node in f.node_def:
            full = prefix + node.name
            own[node.name] = full = f"{full}#{len(self.names)}" if full in self.names else full
            self.names.add(full)

        def ref(i: str) -> str:
            node, colon, port = i.partition(":")
            return self.resolve(own.get(node, prefix + node) + colon + port if colon else env[i])

        for node in f.node_def:
            full = own[node.name]
            ins = [ref(i) for i in node.input if not i.startswith("^")]
            callee = node.attr["f"].func.name if "f" in node.attr else ""
            if node.op in _CALL_OPS and callee in self.library:
                args = self.library[callee].signature.input_arg
                scope = _parent(full)
                rets = self.walk(callee, scope + "/" if scope else "", {a.name: r for a, r in zip(args, ins)})
                self.alias.update((f"{full}:output:{k}", r) for k, r in enumerate(rets))
                continue
            shapes = node.attr["_output_shapes"].list.shape if "_output_shapes" in node.attr else []
            self.shapes[full] = proto_shape(shapes[0]) if len(shapes) == 1 else None
            self.ops.append((full, node.op, ins))
        return [ref(f.ret[a.name]) for a in f.signature.output_arg]

    def shape(self, ref: str) -> Shape | None:
        return self.shapes.get(ref.split(":")[0])


def scope_ops(meta: Any, nodes: Any, chosen: str, info: SignatureInfo) -> _Ops | None:
    """The flattened ops of the chosen signature's function (captured variables read as ``var:<node>``,
    input ``info.inputs[i]`` as ``arg#i``)."""
    sig_map = next((n for n in nodes if n.WhichOneof("kind") == "user_object"
                    and n.user_object.identifier == "signature_map"), None)  # fmt: skip
    child = next((c.node_id for c in sig_map.children if c.local_name == chosen), None) if sig_map else None
    if child is None:
        return None
    fname = nodes[child].bare_concrete_function.concrete_function_name
    ops = _Ops({f.signature.name: f for f in meta.graph_def.library.function})
    if fname not in ops.library:
        return None
    f, bound = ops.library[fname], list(meta.object_graph_def.concrete_functions[fname].bound_inputs)
    args = f.signature.input_arg
    n_free = len(args) - len(bound)
    keys, slot = nodes[child].bare_concrete_function.argument_keywords, {x.name: i for i, x in enumerate(info.inputs)}
    slots = [slot.get(keys[k], k) if len(keys) == n_free else k for k in range(n_free)]
    env = {a.name: f"arg#{slots[k]}" if k < n_free else f"var:{bound[k - n_free]}" for k, a in enumerate(args)}
    for k in range(n_free):
        shapes = f.arg_attr[k].attr["_output_shapes"].list.shape if k in f.arg_attr else []
        ops.shapes[f"arg#{slots[k]}"] = proto_shape(shapes[0]) if shapes else None
    try:
        rets = ops.walk(fname, "", env)
    except KeyError:  # a function shaped unlike those TensorFlow writes: no tree from scopes, nothing else lost
        return None
    names = sorted(o.name for o in info.outputs)  # a signature returns a dict: flattened in sorted key order
    ops.rets = [rets[names.index(o.name)] for o in info.outputs] if len(names) == len(rets) else rets
    return ops


def object_tree(nodes: Any, kept: list[int]) -> _Tree | None:
    """Layers from the object graph, when some variable has a path not through a flat list of variables."""

    def flat(n: Any) -> bool:  # a list of variables only, such as Keras's ``variables``
        kinds = {nodes[c.node_id].WhichOneof("kind") for c in n.children}
        return n.WhichOneof("kind") == "user_object" and n.user_object.identifier == "trackable_list_wrapper" \
            and kinds <= {"variable"}  # fmt: skip

    paths = object_paths(nodes, skip=flat)
    owned = {i: paths[i] for i in kept if len(paths.get(i, ())) > 1}
    if not owned:
        return None
    order: dict[str, list[int]] = {}
    for n, i in enumerate(kept):
        for depth in range(1, len(owned.get(i, ()))):
            order.setdefault("/".join(owned[i][:depth]), []).append(n)
    layers = [TracedLayer(p, p.rpartition("/")[2], p.rpartition("/")[2], "", p.count("/") + 1, _parent(p) or None,
                          (), (), 1, True, tuple(v)) for p, v in order.items()]  # fmt: skip
    layers.sort(key=lambda l: [order[p][0] for p in _prefixes(l.path)])
    return "", layers, {i: ("/".join(p[:-1]), p[-1]) for i, p in owned.items()}, (), {}


def _prefixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: k + 1]) for k in range(len(parts))]


def _scopes(ops: _Ops) -> tuple[dict[str, str], dict[int, str], set[str]]:
    """Each op's scope (without the scopes ops open for themselves), each variable's first reader's
    scope, and the scopes that read variables."""
    names = {name for name, _, _ in ops.ops}
    op_scope = {}
    for name in names:
        s = _parent(name)
        while s and (s in names or _OP_SCOPE.match(s.rpartition("/")[2])):
            s = _parent(s)
        op_scope[name] = s
    reads: dict[int, str] = {}
    owners = set()
    for name, _, ins in ops.ops:
        for ref in (r for r in ins if r.startswith("var:")):
            reads.setdefault(int(ref[4:]), op_scope[name])
            owners.add(op_scope[name])
    return op_scope, reads, owners - {""}


def _repeats(order: list[str], held: dict[str, set[int]], raw: set[str]) -> dict[str, str]:
    """A later call's scope (and its sublayers') -> the first call's: same parent, same variables."""
    again: dict[str, str] = {}
    seen: dict[tuple[str, frozenset[int]], str] = {}
    for s in order:
        a = seen.setdefault((_parent(s), frozenset(held[s])), s) if held[s] and s not in again else s
        below = [d for d in order if (d + "/").startswith(s + "/")] if a != s else []
        again.update((d, a + d[len(s) :]) for d in below if a + d[len(s) :] in raw)
    return again


def scope_tree(ops: _Ops, kept: list[int], nodes: Any) -> _Tree | None:
    """Layers from the name scopes of ``ops`` (see the module docstring)."""
    op_scope, reads, owners = _scopes(ops)
    if not owners:
        return None
    containers = {p for s in owners for p in _prefixes(s)[:-1]}
    raw = owners | containers | {s for s in op_scope.values() if s and _parent(s) in containers}
    root = next(iter(owners)).split("/")[0]
    if root in containers and all(s.split("/")[0] == root for s in raw):
        raw.discard(root)
    else:
        root = ""
    layer_of = {n: next((p for p in reversed(_prefixes(s)) if p in raw), "") if s else "" for n, s in op_scope.items()}
    first, own_types, inputs, outputs, held = _boundaries(ops, raw, layer_of)
    order = sorted(raw, key=lambda s: [first.get(p, 0) for p in _prefixes(s) if p in raw])
    again = _repeats(order, held, raw)
    show = _display({s for s in raw if s not in again} | {root} - {""})
    show[""], cut, index = "", len(show.get(root, "")) + 1 if root else 0, {i: n for n, i in enumerate(kept)}
    layers: list[TracedLayer] = []
    calls: list[CallInfo] = []
    where: dict[str, tuple[str, int]] = {}
    for s in order:
        if any(p in again for p in _prefixes(s)):
            continue
        path, repeats = show[s][cut:], [s] + [d for d in order if again.get(d) == s]
        where.update((d, (path, k)) for k, d in enumerate(repeats))
        shapes = [tuple(tuple(ops.shape(r) for r in refs[d]) for refs in (inputs, outputs)) for d in repeats]
        calls += [CallInfo(path, k, *io) for k, io in enumerate(shapes)] if len(repeats) > 1 else []
        cls = "" if s in containers else next((c for op, c in _CLS_GUESS if op in own_types.get(s, ())
                                                and (held[s] or c.endswith("Pooling2D"))), "")  # fmt: skip
        variables = tuple(sorted(index[i] for i in held[s] if i in index))
        layers.append(TracedLayer(path, path.rpartition("/")[2], None, cls, path.count("/") + 1,
                                  _parent(path) or None, *shapes[0], len(repeats), True, variables))  # fmt: skip
    owned = {i: (show[s][cut:] if s in raw else "", nodes[i].variable.name.rpartition("/")[2])
             for i, s in reads.items() if s in raw or s == root}  # fmt: skip
    return show[root], layers, owned, tuple(calls), _flow(ops, layer_of, raw, containers, where)


def _display(scopes: set[str]) -> dict[str, str]:
    """Scope -> shown path: one ``_<n>`` suffix off every component, if all have one and paths stay distinct."""
    comps = {c for s in scopes for c in s.split("/")}
    if not all(_SUFFIX.search(c) for c in comps):
        return {s: s for s in scopes}
    show = {s: "/".join(_SUFFIX.sub("", c) for c in s.split("/")) for s in scopes}
    return show if len(set(show.values())) == len(show) else {s: s for s in scopes}


def _boundaries(ops: _Ops, raw: set[str], layer_of: dict[str, str]) -> tuple[dict[str, Any], ...]:
    """Per layer: its first op's index, its own op types, the tensors crossing into and out of it, and
    the variables read in it (refs in first-seen order, in dicts used as ordered sets)."""
    chain = {s: {p for p in _prefixes(s) if p in raw} if s else set() for s in raw | {""}}
    first: dict[str, int] = {}
    own_types: dict[str, set[str]] = {}
    inputs: dict[str, dict[str, None]] = {s: {} for s in raw}
    outputs: dict[str, dict[str, None]] = {s: {} for s in raw}
    held: dict[str, set[int]] = {s: set() for s in raw}
    for k, (name, op_type, ins) in enumerate(ops.ops):
        mine = chain[layer_of[name]]
        own_types.setdefault(layer_of[name], set()).add(op_type)
        for s in mine:
            first.setdefault(s, k)
        for ref in ins:
            if ref.startswith("var:"):
                for s in mine:
                    held[s].add(int(ref[4:]))
                continue
            theirs = chain[layer_of.get(ref.split(":")[0], "")]
            for s in mine - theirs:
                inputs[s][ref] = None
            for s in theirs - mine:
                outputs[s][ref] = None
    for ref in ops.rets:
        for s in chain[layer_of.get(ref.split(":")[0], "")]:
            outputs[s][ref] = None
    return first, own_types, inputs, outputs, held


def _flow(ops: _Ops, layer_of: dict[str, str], raw: set[str], containers: set[str],
          where: dict[str, tuple[str, int]]) -> dict[_Link, None]:  # fmt: skip
    """Data flow between layer calls, in op order, as the live recorder's links: each tensor that crosses
    into a layer (or is returned) comes from the innermost layers that made it, found by walking back
    through ops in no layer and through a container's own ops used inside it. A container's output made
    by its own ops comes from the container, which links the sources of those ops to it ``via`` ops."""
    index = {name: k for k, (name, _, _) in enumerate(ops.ops)}
    # per op: (ref, index of the op making it, or -1)
    feeds = [[(r, index.get(r.partition(":")[0], -1)) for r in ins if not r.startswith("var:")] for *_, ins in ops.ops]
    scope = [layer_of[name] for name, _, _ in ops.ops] + [""]  # scope[-1]: an input's or unknown op's
    chain = {s: [p for p in _prefixes(s) if p in raw] if s else [] for s in raw | {""}}
    links: dict[_Link, None] = {}
    made: set[int] = set()

    def sources(todo: list[tuple[str, int]], reader: str) -> list[str]:
        """The layers (innermost, or a container whose own ops made it) and ``arg#i`` behind refs read in ``reader``."""
        found: dict[str, int] = {}
        seen, stack = set(), [(r, j, reader) for r, j in todo]
        while stack:
            r, j, reader = stack.pop()
            layer = scope[j]
            if r.startswith("arg#") or layer and (layer not in containers or layer not in chain[reader]):
                key = r if r.startswith("arg#") else layer
                found[key] = min(found.get(key, j), j)
                if layer in containers and j not in made:  # a container's output made by its own ops
                    made.add(j)
                    link(sources(feeds[j], layer), layer, via=True)
            elif j >= 0 and j not in seen:
                seen.add(j)
                stack.extend((r2, j2, layer) for r2, j2 in feeds[j])
        return sorted(found, key=found.__getitem__)

    def link(srcs: list[str], dst: str, via: bool = False, out: int = -1) -> None:
        b = ("", out) if out >= 0 else where.get(dst)
        for src in srcs:
            a = ("", int(src[4:])) if src.startswith("arg#") else where.get(src)
            if a and b and not (via and a[0] == b[0]):
                links.setdefault((*a, *b, via))

    for k, reader in enumerate(scope[:-1]):
        for r, j in feeds[k]:
            into = [d for d in chain[reader] if d not in chain[scope[j]]]
            srcs = sources([(r, j)], reader) if into else []
            for d in into:
                link(srcs, d)
    for i, r in enumerate(ops.rets):
        link(sources([(r, index.get(r.partition(":")[0], -1))], ""), "", out=i)
    return links
