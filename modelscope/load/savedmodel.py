"""Read a generic SavedModel directory (Keras 3 ``model.export()``, ``tf.saved_model.save``) as pure data.

Nothing in the directory runs: ``saved_model.pb`` is parsed with TensorFlow's protobuf classes
alone (imported without TensorFlow's ``__init__``, see :func:`_protos`): the signatures, the
variables (each once, with its checkpoint key) and, from :mod:`savedmodel_scopes`, a layer tree
with shapes and data flow.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelscope.errors import LoadError, SourceError, UsageError
from modelscope.load.savedmodel_scopes import natural_key, object_paths, object_tree, proto_shape, scope_ops, scope_tree
from modelscope.model.report import CallEdge, Edge, InputInfo, ModelInfo, OutputInfo, SignatureInfo, VariableInfo
from modelscope.model.traced import TracedModel

_DTYPES = {"float": "float32", "double": "float64", "half": "float16"}
_protos_cache: tuple[Any, Any] | None = None


@dataclass(frozen=True)
class SavedModelContents:
    """What :func:`read_savedmodel` found; ``traced`` is ready for :func:`modelscope.model.report.build_report`."""

    traced: TracedModel
    signatures: tuple[SignatureInfo, ...]
    checkpoint_keys: tuple[str, ...]  # traced.variables[i] is tensor checkpoint_keys[i] of variables/variables


def _protos() -> tuple[Any, Any]:
    """``saved_model_pb2`` and ``types_pb2``. Unless TensorFlow is already imported, an empty package
    stands in for ``tensorflow`` while they import (0.04 s instead of 5 s), and every ``tensorflow``
    module is taken out of ``sys.modules`` again, so a later ``import tensorflow`` runs as usual."""
    global _protos_cache
    if _protos_cache is None:
        spec = "tensorflow" not in sys.modules and importlib.util.find_spec("tensorflow")
        if spec is None:
            raise LoadError("reading a SavedModel needs the tensorflow package (pip install tensorflow)")
        before = set(sys.modules)
        if spec:
            sys.modules["tensorflow"] = stub = types.ModuleType("tensorflow")
            stub.__path__ = list(spec.submodule_search_locations or [])
        try:
            _protos_cache = (importlib.import_module("tensorflow.core.protobuf.saved_model_pb2"),
                             importlib.import_module("tensorflow.core.framework.types_pb2"))  # fmt: skip
        finally:
            for name in set(sys.modules) - before if spec else ():
                if name.partition(".")[0] == "tensorflow":
                    del sys.modules[name]
    return _protos_cache


def _dtype(types_pb2: Any, value: int) -> str:
    name = str(types_pb2.DataType.Name(value))[3:].lower()
    return _DTYPES.get(name, name)


def _escape(name: str) -> str:
    return name.replace(".", "..").replace("/", ".S")  # as TensorFlow's trackable_utils.escape_local_name


def read_savedmodel(path: str, signature: str | None = None, label: str | None = None) -> SavedModelContents:
    """Read ``path``/saved_model.pb: signatures, variables (with checkpoint keys) and a layer tree."""
    saved_model_pb2, types_pb2 = _protos()
    pb = Path(path) / "saved_model.pb"
    if not pb.is_file():
        raise SourceError(f"{path}: not a SavedModel directory (no saved_model.pb)")
    saved = saved_model_pb2.SavedModel()
    try:
        saved.ParseFromString(pb.read_bytes())
    except Exception as e:  # protobuf's DecodeError
        raise LoadError(f"{pb}: not a readable SavedModel ({e})") from e
    if not saved.meta_graphs:
        raise LoadError(f"{pb}: a SavedModel without a MetaGraph")
    meta = next((m for m in saved.meta_graphs if "serve" in m.meta_info_def.tags), saved.meta_graphs[0])
    sigs = {k: s for k, s in meta.signature_def.items() if not k.startswith("__")}

    def side(items: Any) -> list[tuple[str, Any, str]]:
        ordered = sorted(items.items(), key=lambda kv: natural_key(kv[0]))
        return [(n, proto_shape(t.tensor_shape), _dtype(types_pb2, t.dtype)) for n, t in ordered]

    infos = tuple(
        SignatureInfo(k, tuple(InputInfo(*x) for x in side(s.inputs)), tuple(OutputInfo(*x) for x in side(s.outputs)))
        for k, s in sorted(sigs.items())
    )  # fmt: skip
    chosen = signature or ("serving_default" if "serving_default" in sigs or len(sigs) != 1 else next(iter(sigs)))
    if chosen not in sigs and (signature or len(sigs) > 1):
        raise UsageError(f"{path}: no signature {chosen!r}; signatures: {', '.join(sorted(sigs)) or '(none)'}")
    info = next((s for s in infos if s.name == chosen), SignatureInfo("", (), ()))

    nodes = meta.object_graph_def.nodes
    keys = object_paths(nodes)
    var_ids = [i for i in sorted(keys) if nodes[i].WhichOneof("kind") == "variable"]
    bound = {b for cf in meta.object_graph_def.concrete_functions.values() for b in cf.bound_inputs}

    def about(i: int) -> tuple[Any, ...]:
        return nodes[i].variable.name, proto_shape(nodes[i].variable.shape), nodes[i].variable.dtype

    spare = Counter(about(i) for i in var_ids if i in bound)
    kept = []
    for i in var_ids:  # an unbound variable like a bound one is its copy (Keras's ``_all_variables``)
        if i not in bound and spare[about(i)] > 0:
            spare[about(i)] -= 1
        else:
            kept.append(i)

    ops = scope_ops(meta, nodes, chosen, info)
    tree = (ops and scope_tree(ops, kept, nodes)) or object_tree(nodes, kept) or ("", [], {}, (), {})
    model_name, layers, owners, calls, links = tree
    variables, used = [], set()
    for n, i in enumerate(kept):
        v = nodes[i].variable
        layer, short = owners.get(i, ("", "/".join(keys[i])))
        vpath = f"{layer}/{short}" if layer else short
        while vpath in used:
            vpath += f"_{n}"
        used.add(vpath)
        variables.append(
            VariableInfo(vpath, layer, proto_shape(v.shape) or (), _dtype(types_pb2, v.dtype), v.trainable)
        )
    model = ModelInfo(model_name or Path(path).resolve().name, "", "savedmodel", label)
    every = tuple(range(len(kept)))
    repeated = {c.layer for c in calls}

    def fed(i: int, via: bool) -> tuple[str, ...]:  # the layers input i feeds (their own ops if ``via``)
        return tuple(dict.fromkeys(d for s, k, d, _, o in links if not s and k == i and d and o == via))

    inputs = tuple(replace(x, consumers=fed(i, False), ops_consumers=fed(i, True))
                   for i, x in enumerate(info.inputs))  # fmt: skip
    outputs = tuple(replace(x, producers=tuple(dict.fromkeys(s for s, _, d, k, _ in links if s and not d and k == i)))
                    for i, x in enumerate(info.outputs))  # fmt: skip
    edges = tuple(dict.fromkeys(Edge(l[0], l[2], l[4]) for l in links if l[0] and l[2]))
    call_edges = tuple(CallEdge(*l) for l in links if l[0] in repeated or l[2] in repeated)
    traced = TracedModel(model, inputs, outputs, tuple(layers), edges, tuple(variables), every, calls, call_edges,
                         infos)  # fmt: skip
    ckpt = tuple("/".join(map(_escape, keys[i])) + "/.ATTRIBUTES/VARIABLE_VALUE" for i in kept)
    return SavedModelContents(traced, infos, ckpt)
