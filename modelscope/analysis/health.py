"""Health flags on weight statistics: each rule, its threshold, and the check (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelscope.errors import UsageError

if TYPE_CHECKING:
    from modelscope.analysis.stats import VariableStats
    from modelscope.model.report import VariableInfo

KERNEL_OUT_AXIS = {  # layers whose "kernel" maps inputs to output channels, and the channel axis
    "Dense": -1, "Conv1D": -1, "Conv2D": -1, "Conv3D": -1,
    "Conv1DTranspose": -2, "Conv2DTranspose": -2, "Conv3DTranspose": -2,
}  # fmt: skip
RULES = {
    "nan_inf": "the variable holds NaN or ±Inf values",
    "all_zero": "a weight matrix (a float kernel or embedding of rank >= 2) whose entries are all exactly 0",
    "dead_units": "Dense/Conv output channels whose kernel weights are all 0 (|w| <= dead)",
    "exploding": "a weight matrix whose std exceeds `exploding` × sqrt(2 / min(fan_in, fan_out)) "
    "(the largest usual initialisation scale), or whose max |w| exceeds `exploding` × sqrt(6 / min(fan_in, fan_out))",
    "collapsed": "a weight matrix whose std <= `collapsed` × |mean| with a non-zero mean (all entries alike)",
    "bn_variance": "a BatchNormalization moving_variance with a value <= 0",
}


# Variables whose usual initialisation is a constant, recognised by their role (the last part of
# their name), whatever their rank: attention biases of shape (heads, head_dim) start at zero.
_STARTS_CONSTANT = re.compile(
    r"(?:^|[/_.])(?:bias|biases|beta|offset|shift|center|moving_mean|mean"  # zeros
    r"|gamma|scale|moving_variance|variance)(?::\d+)?$"  # ones
)


def starts_constant(path: str) -> bool:
    """Whether a variable is one that a fresh model holds as a constant (zeros or ones)."""
    return bool(_STARTS_CONSTANT.search(path.rsplit("/", 1)[-1]))


_MATRIX_ROLE = re.compile(r"(?:kernel|embeddings?|weights?)$")  # what a layer learns as a weight matrix


def weight_matrix(v: VariableInfo) -> bool:
    """Whether the matrix rules judge ``v``: a float kernel or embedding table of rank >= 2 that
    its layer does not initialise to a constant. Tokens, positional tables, offsets and integer
    buffers (``class_token``, ``pos_embed``, ``position_ids``) often start at zero, or are no
    weights at all. Unnamed variables (a Keras 3 weights file) are judged by rank and role."""
    if len(v.shape) < 2 or v.init or "float" not in v.dtype:
        return False
    name = v.path.rsplit("/", 1)[-1].split(":")[0]
    if name.isdigit():
        return not starts_constant(v.path)
    return bool(_MATRIX_ROLE.search(name)) and not starts_constant(v.path)


@dataclass(frozen=True)
class Thresholds:
    exploding: float = 10.0
    collapsed: float = 1e-6
    dead: float = 0.0

    @classmethod
    def parse(cls, items: Iterable[str]) -> Thresholds:
        """From ``NAME=VALUE`` strings (``exploding=20``); a malformed one is a UsageError."""
        values: dict[str, float] = {}
        for item in items:
            name, sep, value = item.partition("=")
            if not sep or name not in cls.__dataclass_fields__:
                raise UsageError(f"--threshold {item!r}: use NAME=VALUE with NAME one of "
                                 f"{', '.join(cls.__dataclass_fields__)}")  # fmt: skip
            try:
                values[name] = float(value)
            except ValueError:
                raise UsageError(f"--threshold {item!r}: {value!r} is not a number") from None
            if not math.isfinite(values[name]) or values[name] < 0:
                raise UsageError(f"--threshold {item!r}: give a finite number, 0 or more")
        return cls(**values)


@dataclass(frozen=True)
class Flag:
    path: str
    rule: str
    message: str


def _fans(shape: tuple[int | None, ...]) -> tuple[int, int]:
    dims = [d or 1 for d in shape]
    if len(dims) == 2:
        return dims[0], dims[1]
    receptive = math.prod(dims[:-2])
    return receptive * dims[-2], receptive * dims[-1]


def flags_for(stat: VariableStats, layer_cls: str, t: Thresholds) -> list[Flag]:
    v, m = stat.info, stat.moments
    flags = []
    if m.nan or m.inf:
        flags.append(Flag(v.path, "nan_inf", f"{m.nan} NaN and {m.inf} Inf values"))
    # a weight matrix: a kernel or an embedding, not a bias or a scale that happens to have rank 2
    matrix = weight_matrix(v) and m.count > 1 and m.mean is not None
    if matrix and m.zeros == 1.0:
        flags.append(Flag(v.path, "all_zero", f"all {m.count:,} entries are 0"))
    elif stat.dead_units and matrix:
        channels = v.shape[KERNEL_OUT_AXIS[layer_cls]]
        message = f"{stat.dead_units} of {channels} output channels have all-zero weights"
        flags.append(Flag(v.path, "dead_units", message))
    if matrix and m.zeros < 1.0:
        fan = min(_fans(v.shape))
        ref_std, ref_max = math.sqrt(2 / fan), math.sqrt(6 / fan)
        peak = max(abs(m.min), abs(m.max))  # type: ignore[arg-type]
        if m.std > t.exploding * ref_std or peak > t.exploding * ref_max:  # type: ignore[operator]
            flags.append(Flag(v.path, "exploding",
                              f"std {m.std:.4g} and max |w| {peak:.4g} against an initialisation scale of "
                              f"{ref_std:.4g} (std) / {ref_max:.4g} (max); limit {t.exploding:g}×"))  # fmt: skip
        if m.mean != 0 and m.std <= t.collapsed * abs(m.mean or 0.0):  # type: ignore[operator]
            flags.append(Flag(v.path, "collapsed", f"std {m.std:.3g} with mean {m.mean:.4g}: all entries alike"))
    if layer_cls == "BatchNormalization" and v.path.endswith("/moving_variance") and m.min is not None and m.min <= 0:
        flags.append(Flag(v.path, "bn_variance", f"moving variance down to {m.min:.4g} (must be > 0)"))
    return flags
