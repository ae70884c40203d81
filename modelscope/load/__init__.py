"""Loading: turn a source (file, module, model file) into a Keras model. Imports TensorFlow."""

from __future__ import annotations

from typing import Any

from modelscope._keras import import_keras
from modelscope.load.source import SourceRef, parse_source

__all__ = ["SourceRef", "load_model", "parse_source"]


def load_model(ref: SourceRef) -> Any:
    """The Keras model ``ref`` names. Nothing is written to the source's files."""
    import_keras()
    if ref.kind == "keras_file":
        from modelscope.load.keras_file import load_keras_file

        return load_keras_file(ref.target)
    from modelscope.load.pyfile import import_file, import_module, model_from_module

    module = import_file(ref.target) if ref.kind == "pyfile" else import_module(ref.target)
    model, _ = model_from_module(module, ref.target, ref.attr)
    return model
