"""Loading: turn a source (file, module, model file) into a Keras model. Imports TensorFlow."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelscope._keras import import_keras
from modelscope.load.source import LoadOptions, SourceRef, parse_source

__all__ = ["LoadOptions", "Loaded", "SourceRef", "import_code", "load", "load_model", "parse_source"]


def import_code(imports: tuple[str, ...]) -> dict[str, Any]:
    """Import each ``--import`` (a .py file or a module) and return the classes and functions they
    define, by name, as custom objects for Keras's loader (registered ones are found anyway)."""
    from modelscope.load.pyfile import import_file, import_module
    from modelscope.load.source import check_kind

    found: dict[str, Any] = {}
    for item in imports:
        check_kind(Path(item))  # a FIFO or a directory named .py is refused, not opened
        module = import_file(item) if item.endswith(".py") or Path(item).is_file() else import_module(item)
        for name, value in vars(module).items():
            if (inspect.isclass(value) or inspect.isfunction(value)) and value.__module__ == module.__name__:
                found.setdefault(name, _lenient(value))
    return found


def _lenient(cls: Any) -> Any:
    """A Layer/Model subclass whose constructor takes no config (``def __init__(self)``, common in
    subclassed models) cannot be rebuilt by Keras, which calls ``cls(**config)``: give it a
    ``from_config`` that passes only the arguments the constructor takes."""
    import keras

    if not (inspect.isclass(cls) and issubclass(cls, keras.layers.Layer)) or "from_config" in vars(cls):
        return cls
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return cls

    def from_config(klass: Any, config: dict[str, Any]) -> Any:
        return klass(**{k: v for k, v in config.items() if k in params and k != "self"})

    return type(cls.__name__, (cls,), {"from_config": classmethod(from_config), "__module__": cls.__module__,
                                       "__qualname__": cls.__qualname__})  # fmt: skip


@dataclass(frozen=True)
class Loaded:
    """A loaded Keras model; ``weights_after_build``: a file to load its weights from once the
    trace has built it (see ``keras_file.load_keras_file``)."""

    model: Any
    weights_after_build: str | None = None


def load(ref: SourceRef, options: LoadOptions | None = None, *, values: bool = True) -> Loaded:
    """The Keras model ``ref`` names. Nothing is written to the source's files. ``values=False``:
    a model file's weights are not read (its model is built from the stored configuration)."""
    import_keras()
    options = options or LoadOptions()
    custom = import_code(options.imports)
    if ref.kind == "keras_file":
        from modelscope.load.keras_file import load_keras_file

        return Loaded(*load_keras_file(ref.target, unsafe=options.unsafe, custom_objects=custom, values=values))
    from modelscope.load.pyfile import import_file, import_module, model_from_module

    module = import_file(ref.target) if ref.kind == "pyfile" else import_module(ref.target)
    model, _ = model_from_module(module, ref.target, ref.attr)
    return Loaded(model)


def load_model(ref: SourceRef, options: LoadOptions | None = None) -> Any:
    """The model alone, for models that need no build before their weights load."""
    return load(ref, options).model
