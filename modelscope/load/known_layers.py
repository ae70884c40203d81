"""What modelscope knows of Keras's built-in layer classes without importing Keras: their
variables' names and which are trainable, in the order Keras saves them (trainable ones first).

Used only to name what a model file records by position. A class not listed here keeps
positional names (``0``, ``1``); a count that does not fit the class's rule does too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelscope.model.paths import snake_case

_KERNEL_BIAS = ("kernel", "bias")
_CLASSES_KERNEL_BIAS = (
    "Dense", "EinsumDense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D",
)  # fmt: skip
_WEIGHTLESS = (
    "InputLayer", "Activation", "Flatten", "Reshape", "Permute", "RepeatVector", "Dropout", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "MaxPooling1D",
    "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAveragePooling3D", "Add", "Subtract", "Multiply", "Average", "Maximum",
    "Minimum", "Concatenate", "Dot", "ReLU", "LeakyReLU", "ELU", "Softmax", "ZeroPadding1D", "ZeroPadding2D",
    "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
    "Rescaling", "Identity", "Masking", "Lambda",
)  # fmt: skip


def _flag(config: dict[str, Any] | None, key: str) -> bool | None:
    value = (config or {}).get(key)
    return value if isinstance(value, bool) else None


def _normalization(config: dict[str, Any] | None, n: int) -> list[tuple[str, bool]] | None:
    """BatchNormalization: gamma (scale), beta (center), then moving mean and variance."""
    scale, center = _flag(config, "scale"), _flag(config, "center")
    if scale is None or center is None:
        if n not in (2, 4):
            return None
        scale = center = n == 4
    return [("gamma", True)] * scale + [("beta", True)] * center + [("moving_mean", False), ("moving_variance", False)]


def _affine(config: dict[str, Any] | None, n: int) -> list[tuple[str, bool]] | None:
    """LayerNormalization, GroupNormalization: gamma (scale), beta (center)."""
    scale, center = _flag(config, "scale"), _flag(config, "center")
    if scale is None or center is None:
        return [("gamma", True), ("beta", True)] if n == 2 else None
    return [("gamma", True)] * scale + [("beta", True)] * center


def _fixed(*names: str) -> Callable[[dict[str, Any] | None, int], list[tuple[str, bool]] | None]:
    def rule(config: dict[str, Any] | None, n: int) -> list[tuple[str, bool]] | None:
        return [(name, True) for name in names[:n]] if n <= len(names) else None

    return rule


_RULES: dict[str, Callable[[dict[str, Any] | None, int], list[tuple[str, bool]] | None]] = {
    **{cls: _fixed(*_KERNEL_BIAS) for cls in _CLASSES_KERNEL_BIAS},
    "SeparableConv1D": _fixed("depthwise_kernel", "pointwise_kernel", "bias"),
    "SeparableConv2D": _fixed("depthwise_kernel", "pointwise_kernel", "bias"),
    "Embedding": _fixed("embeddings"),
    "PReLU": _fixed("alpha"),
    "BatchNormalization": _normalization,
    "Normalization": lambda config, n: [("mean", False), ("variance", False), ("count", False)] if n == 3 else None,
    "LayerNormalization": _affine,
    "GroupNormalization": _affine,
    "SimpleRNNCell": _fixed("kernel", "recurrent_kernel", "bias"),
    "LSTMCell": _fixed("kernel", "recurrent_kernel", "bias"),
    "GRUCell": _fixed("kernel", "recurrent_kernel", "bias"),
    **{cls: _fixed() for cls in _WEIGHTLESS},
}
_BY_SLOT = {snake_case(cls): cls for cls in _RULES}  # the name Keras gives a layer slot of that class


def variable_names(cls: str, config: dict[str, Any] | None, n: int) -> list[tuple[str, bool]] | None:
    """(name, trainable) of a ``cls`` layer's ``n`` saved variables, or None when not known."""
    rule = _RULES.get(cls)
    names = rule(config, n) if rule else None
    return names if names is not None and len(names) == n else None


def class_of_slot(slot_base: str, n: int) -> str | None:
    """The built-in class a Sequential's layer slot is named after (``max_pooling2d``), when its
    variable count fits that class; else None (a custom class can have any name)."""
    cls = _BY_SLOT.get(slot_base)
    return cls if cls is not None and variable_names(cls, None, n) is not None else None
