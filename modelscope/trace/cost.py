"""Compute cost of one sample: multiply-accumulates (MACs) and FLOPs per layer call.

Convention (README "Compute and memory"): a MAC is one multiplication by a weight or by another
activation accumulated into a sum, as in matrix products and convolutions (Dense, Conv*, attention
scores and weighted sums, RNN gates, ``matmul``/``einsum`` in a custom ``call``); biases are not
MACs. FLOPs = 2 × MACs + element-wise work: bias adds, activations, normalisation (inference form:
scale and shift, 2 per element; Layer/GroupNormalization also mean and variance, 4 more), merges,
pooling (one per window element). Reshaping, dropout (inference), embedding lookups cost 0.

Built-in layers are counted by formula from their configuration and the traced shapes. Any other
layer runs its ``call`` once more in a scratch TensorFlow graph on a batch of one and its own ops are
counted (sublayers' ops left to them): MatMul, BatchMatMul, Einsum, convolutions by shape, every
other arithmetic op as one FLOP per output element. A cost that depends on a dimension the trace
left unknown (``None`` besides the batch) is unknown, and said so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from modelscope.model.report import Cost
from modelscope.model.shapes import Shape

_Shapes = Sequence[Shape | None]


def per_sample(shape: Shape | None) -> int | None:
    """Elements of one sample (the batch dimension left out); None when unknown."""
    if shape is None or any(d is None for d in shape[1:]):
        return None
    return math.prod(shape[1:])


def _elems(shapes: _Shapes) -> int | None:
    sizes = [per_sample(s) for s in shapes]
    return None if any(s is None for s in sizes) else sum(sizes)  # type: ignore[misc]


def _activation_flops(layer: Any, out: int) -> int:
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", "linear")
    return 0 if name == "linear" or act is None else out


def _dense(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    out = per_sample(outs[0])
    if out is None or ins[0] is None or ins[0][-1] is None:
        return Cost(None, None, "a dimension is unknown")
    macs = out * ins[0][-1]
    bias = out if getattr(layer, "use_bias", False) else 0
    return Cost(macs, 2 * macs + bias + _activation_flops(layer, out))


def _conv(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    out, cin = per_sample(outs[0]), ins[0][-1] if ins[0] else None
    if out is None or cin is None:
        return Cost(None, None, "a dimension is unknown")
    cls = type(layer).__name__
    window = math.prod(layer.kernel_size)
    if "Transpose" in cls:  # every input element meets the whole kernel
        spatial_in = math.prod(ins[0][1:-1])  # type: ignore[arg-type]
        macs = spatial_in * cin * window * layer.filters
    elif "Depthwise" in cls:
        macs = out * window
    elif "Separable" in cls:
        spatial_out = out // layer.filters
        depth = cin * layer.depth_multiplier
        macs = spatial_out * depth * window + spatial_out * depth * layer.filters
    else:
        macs = out * window * cin // getattr(layer, "groups", 1)
    bias = out if getattr(layer, "use_bias", False) else 0
    return Cost(macs, 2 * macs + bias + _activation_flops(layer, out))


def _pool(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    out = per_sample(outs[0])
    if out is None:
        return Cost(None, None, "a dimension is unknown")
    return Cost(0, out * math.prod(layer.pool_size))


def _global_pool(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    n = per_sample(ins[0])
    return Cost(0, n) if n is not None else Cost(None, None, "a dimension is unknown")


def _elementwise(per_element: int) -> Callable[[Any, _Shapes, _Shapes], Cost]:
    def cost(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
        n = _elems(outs)
        return Cost(0, per_element * n) if n is not None else Cost(None, None, "a dimension is unknown")

    return cost


def _merge(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    n = per_sample(outs[0])
    return Cost(0, n * (len(ins) - 1)) if n is not None else Cost(None, None, "a dimension is unknown")


def _free(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    return Cost(0, 0)


def _embedding(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    return Cost(0, 0, "a table lookup: no arithmetic")


def _upsampling(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    n = per_sample(outs[0])
    if n is None:
        return Cost(None, None, "a dimension is unknown")
    return Cost(0, 0 if getattr(layer, "interpolation", "nearest") == "nearest" else 4 * n)


_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
_CELL_GATES = {"SimpleRNNCell": 1, "LSTMCell": 4, "GRUCell": 3}  # RNN(cell) with a built-in cell


def _rnn(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    gates = _GATES.get(type(layer).__name__) or _CELL_GATES.get(type(layer.cell).__name__)
    if gates is None:
        return Cost(None, None, f"a custom cell ({type(layer.cell).__name__}) runs once per time step")
    shape = ins[0]
    if shape is None or len(shape) < 3 or shape[1] is None or shape[-1] is None:
        return Cost(None, None, "the number of time steps is unknown")
    units, steps, features = layer.cell.units, shape[1], shape[-1]
    macs = steps * gates * units * (features + units)
    return Cost(macs, 2 * macs + steps * gates * units * 3, f"{steps} steps × {gates * units * (features + units):,}")


def _bidirectional(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    parts = [layer_cost(l, ins, outs) for l in (layer.forward_layer, layer.backward_layer)]
    if any(p.macs is None or p.flops is None for p in parts):
        return Cost(None, None, "the number of time steps is unknown")
    return Cost(sum(p.macs for p in parts), sum(p.flops for p in parts), "both directions")  # type: ignore[misc]


def _attention(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    """Dot-product Attention([query, value(, key)]): scores and the weighted sum."""
    q, v = ins[0], ins[1] if len(ins) > 1 else ins[0]
    if q is None or v is None or None in (q[1], q[-1], v[1], v[-1]):
        return Cost(None, None, "a dimension is unknown")
    macs = q[1] * v[1] * q[-1] + q[1] * v[1] * v[-1]
    return Cost(macs, 2 * macs + 3 * q[1] * v[1], "scores + weighted sum")


def _mha(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    """MultiHeadAttention(query, value, key): projections, scores, weighted sum, output."""
    q, v = ins[0], ins[1] if len(ins) > 1 else ins[0]
    k = ins[2] if len(ins) > 2 else v
    out = outs[0]
    dims = (q, v, k, out)
    if any(s is None or any(d is None for d in s[1:]) for s in dims):
        return Cost(None, None, "a dimension is unknown")
    heads, kd = layer.num_heads, layer.key_dim
    vd = layer.value_dim or kd
    tq, tv = math.prod(q[1:-1]), math.prod(v[1:-1])  # type: ignore[index]
    proj = tq * q[-1] * heads * kd + tv * k[-1] * heads * kd + tv * v[-1] * heads * vd  # type: ignore[index]
    attend = heads * tq * tv * (kd + vd)
    output = tq * heads * vd * out[-1]  # type: ignore[index]
    macs = proj + attend + output
    return Cost(macs, 2 * macs + 3 * heads * tq * tv, "projections + scores + weighted sum + output")


FORMULAS: dict[str, Callable[[Any, _Shapes, _Shapes], Cost]] = {
    "Dense": _dense,
    **dict.fromkeys(["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
                     "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"], _conv),
    **dict.fromkeys(["MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
                     "AveragePooling3D"], _pool),
    **dict.fromkeys(["GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
                     "GlobalAveragePooling2D", "GlobalAveragePooling3D"], _global_pool),
    **dict.fromkeys(["BatchNormalization", "Rescaling", "Normalization"], _elementwise(2)),
    **dict.fromkeys(["LayerNormalization", "GroupNormalization", "UnitNormalization"], _elementwise(6)),
    **dict.fromkeys(["ReLU", "Activation", "LeakyReLU", "PReLU", "ELU", "Softmax"], _elementwise(1)),
    **dict.fromkeys(["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"], _merge),
    **dict.fromkeys(["Flatten", "Reshape", "Permute", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
                     "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "InputLayer",
                     "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D",
                     "RepeatVector", "Identity", "Masking", "Concatenate", "ActivityRegularization"], _free),
    **dict.fromkeys(["UpSampling1D", "UpSampling2D", "UpSampling3D"], _upsampling),
    "Embedding": _embedding,
    **dict.fromkeys([*_GATES, "RNN"], _rnn),
    "Bidirectional": _bidirectional,
    "Attention": _attention,
    "MultiHeadAttention": _mha,
}  # fmt: skip


def layer_cost(layer: Any, ins: _Shapes, outs: _Shapes) -> Cost:
    """A built-in layer's cost for one call with these (batched) shapes."""
    return FORMULAS[type(layer).__name__](layer, ins, outs)


def known(layer: Any) -> bool:
    """Counted by formula (its sublayers, such as an RNN's cell or MHA's projections, included)."""
    return type(layer).__name__ in FORMULAS and type(layer).__module__.startswith("keras.src.layers")


# -- a layer's own ops, counted from a scratch graph ------------------------------------------------

_FREE_OPS = {
    "Placeholder", "Const", "Identity", "IdentityN", "ReadVariableOp", "Reshape", "Shape", "ShapeN", "Size",
    "Rank", "StridedSlice", "Slice", "Pack", "Unpack", "ConcatV2", "Concat", "Split", "SplitV", "Transpose",
    "ExpandDims", "Squeeze", "Cast", "NoOp", "Fill", "Empty", "ZerosLike", "OnesLike", "GatherV2", "ResourceGather",
    "Tile", "BroadcastTo", "BroadcastArgs", "Range", "StopGradient", "PreventGradient", "Pad", "PadV2",
    "MirrorPad", "Reverse", "ReverseV2", "Where", "Select", "SelectV2", "VarHandleOp", "AssignVariableOp",
    "Assert", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr",
    "LogicalNot", "OneHot", "ArgMax", "ArgMin", "Prod", "ResizeNearestNeighbor", "DepthToSpace",
    "SpaceToDepth", "EnsureShape", "CheckNumerics", "PlaceholderWithDefault",
}  # fmt: skip


def _dims(t: Any) -> list[int | None] | None:
    shape = t.shape
    if shape.rank is None:
        return None
    return [None if d is None else int(d) for d in shape]


def _prod(dims: list[int | None] | None) -> int | None:
    if dims is None or any(d is None for d in dims):
        return None
    return math.prod(dims)  # type: ignore[arg-type]


def _einsum_macs(op: Any) -> int | None:
    equation = op.get_attr("equation").decode()
    inputs, _, _ = equation.partition("->")
    sizes: dict[str, int] = {}
    for spec, t in zip(inputs.split(","), op.inputs):
        dims = _dims(t)
        if dims is None or "." in spec:
            return None
        for letter, d in zip(spec, dims):
            if d is None:
                return None
            sizes[letter] = d
    return math.prod(sizes.values())


def op_cost(op: Any) -> Cost:
    """One TensorFlow op (batch of one): MACs for products and convolutions, else element-wise FLOPs."""
    kind = op.type
    if kind in _FREE_OPS or not op.outputs:
        return Cost(0, 0)
    out = _prod(_dims(op.outputs[0]))
    macs: int | None
    if kind in ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"):
        a = _dims(op.inputs[0])
        inner = None
        if a is not None:
            adj = op.get_attr("transpose_a" if kind == "MatMul" else "adj_x")
            inner = a[-2] if adj else a[-1]
        macs = None if out is None or inner is None else out * inner
    elif kind == "Einsum":
        macs = _einsum_macs(op)
    elif kind in ("Conv2D", "Conv3D", "DepthwiseConv2dNative"):
        k = _dims(op.inputs[1])
        window = _prod(k[:-2] if kind == "DepthwiseConv2dNative" else k[:-1]) if k else None
        macs = None if out is None or window is None else out * window
    elif kind in ("Conv2DBackpropInput", "Conv3DBackpropInputV2"):
        k, x = _dims(op.inputs[1]), _dims(op.inputs[2])
        macs = None if k is None or x is None or None in k or None in x else _prod(x) * _prod(k[:-2]) * k[-2]  # type: ignore[operator]
    else:
        return Cost(0, out) if out is not None else Cost(None, None, f"{kind}: a dimension is unknown")
    if macs is None:
        return Cost(None, None, f"{kind}: a dimension is unknown")
    return Cost(macs, 2 * macs)


def ops_cost(ops: Sequence[Any]) -> Cost:
    """The sum over ops; unknown as soon as one op's cost is (the note names the first such op
    type by name, not by graph order, which varies with how the variables were made)."""
    macs = flops = 0
    kinds: dict[str, None] = {}
    unknown: list[str] = []
    for op in ops:
        c = op_cost(op)
        if c.macs is None or c.flops is None:
            unknown.append(c.note)
            continue
        macs, flops = macs + c.macs, flops + c.flops
        if c.macs:
            kinds.setdefault(re.sub(r"V\d$", "", op.type))
    if unknown:
        return Cost(None, None, min(unknown))
    return Cost(macs, flops, "from its ops" + (f" ({', '.join(kinds)})" if kinds else ""))
