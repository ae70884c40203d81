"""Loading ``.keras`` and legacy ``.h5`` model files through Keras's own loader."""

from __future__ import annotations

from typing import Any

from modelscope.errors import LoadError


def load_keras_file(path: str) -> Any:
    """``keras.saving.load_model(path, compile=False)`` with safe mode on; errors explained."""
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise LoadError(f"{path}: Keras could not load this file: {first}") from e
