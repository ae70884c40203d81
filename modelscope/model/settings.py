"""The layer settings a report keeps (``LayerInfo.config``): which config keys, as plain JSON (pure).

Shared by the tracer (a live layer's ``get_config()``) and the code-free reader of model files
(the config stored in the file), so both give the same settings.
"""

from __future__ import annotations

import math
from typing import Any

CONFIG_KEYS = ("units", "filters", "kernel_size", "strides", "padding", "dilation_rate", "groups", "depth_multiplier",
               "activation", "use_bias", "pool_size", "rate", "num_heads", "key_dim", "value_dim", "input_dim",
               "output_dim", "axis", "return_sequences", "go_backwards", "target_shape", "size",
               "interpolation")  # fmt: skip


def config_value(value: Any, depth: int = 0) -> Any:
    """A config value as JSON: numbers, strings, booleans and lists of them as they are; a
    serialised object (``{"class_name": ..., "config": ...}``) or any other object by its name."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)) and depth < 4:
        return [config_value(v, depth + 1) for v in value]
    if isinstance(value, dict):
        inner = value.get("config")
        if isinstance(inner, str):  # keras-hub: {"class_name": "function", "config": "keras_hub>gelu"}
            return inner
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return inner["name"]
        return str(value.get("class_name", "object"))
    name = getattr(value, "__name__", None) or getattr(value, "name", None)
    return name if isinstance(name, str) else type(value).__name__
