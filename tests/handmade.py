"""A hand-made trace for renderer tests that need no TensorFlow."""

from __future__ import annotations

from modelscope.model.report import Edge, InputInfo, ModelInfo, OutputInfo, VariableInfo
from modelscope.model.traced import TracedLayer, TracedModel


def _layer(path: str, cls: str, out: tuple, variables: tuple[int, ...] = (), calls: int = 1, attr=None, built=True,
           name=None):
    parent = path.rpartition("/")[0] or None
    return TracedLayer(path, name or path.rpartition("/")[2], attr, cls, path.count("/") + 1, parent,
                       ((None, 8),), (out,), calls, built, variables)  # fmt: skip


def residual_model() -> TracedModel:
    """A hand-made trace: a block with a residual add, a shared (tied) kernel, a frozen layer."""
    variables = (
        VariableInfo("stem/kernel", "stem", (8, 8), "float32", True),
        VariableInfo("block/conv/kernel", "block/conv", (8, 8), "float32", True),
        VariableInfo("block/norm/gamma", "block/norm", (8,), "float16", True),
        VariableInfo("block/norm/moving_mean", "block/norm", (8,), "float32", False),
        VariableInfo("scale", "", (3,), "float32", True),
    )
    layers = (
        _layer("stem", "Dense", (None, 8), (0,)),
        _layer("block", "Residual", (None, 8), (1, 2, 3), attr="block", name="residual_block"),
        _layer("block/conv", "Dense", (None, 8), (1,)),
        _layer("block/norm", "BatchNormalization", (None, 8), (2, 3), attr="norm"),
        _layer("tied", "Dense", (None, 8), (1,), calls=3),  # uses block/conv's kernel
        _layer("spare", "Dense", (None, 8), (), calls=0, built=False),
    )
    edges = (
        Edge("stem", "block"), Edge("stem", "block/conv"), Edge("stem", "block/norm"),
        Edge("block/conv", "block/norm"), Edge("block", "tied"), Edge("tied", "tied"),
    )  # fmt: skip
    return TracedModel(
        model=ModelInfo("net<1>", "Net", "subclassed", "models/net.py"),
        inputs=(InputInfo("x", (None, 8), "float32", ("stem",)),),
        outputs=(OutputInfo("output", (None, 8), "float32", ("tied",)),),
        layers=layers,
        edges=edges,
        variables=variables,
        model_variables=(0, 1, 2, 3, 4),
    )
