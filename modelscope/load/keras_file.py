"""Loading ``.keras`` and legacy ``.h5`` model files through Keras's own loader.

``compile=False`` always; safe mode stays on unless the user passes ``--unsafe``. The file is only
read (Keras opens both formats read-only).
"""

from __future__ import annotations

import json
import re
import warnings
import zipfile
from collections.abc import Mapping
from typing import Any

from modelscope.errors import CodeNeeded, LoadError, ModelscopeWarning, first_line

_GRAPH_CLASSES = ("Sequential", "Functional", "Model")  # configs that rebuild with their input shapes
_MISSING = (re.compile(r"Could not locate (?:class|function) '([^']+)'"), re.compile(r"Unknown \w+: '([^']+)'"))


def stored_config(path: str) -> dict[str, Any]:
    """The model's config as stored in the file, read as JSON (no Keras needed); {} when it has none."""
    try:
        if path.lower().endswith(".keras"):
            with zipfile.ZipFile(path) as z:
                config = json.loads(z.read("config.json"))
        else:
            import h5py

            with h5py.File(path, "r") as f:
                raw = f.attrs.get("model_config")
                config = json.loads(raw.decode() if isinstance(raw, bytes) else raw) if raw is not None else {}
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, RecursionError):
        return {}
    return config if isinstance(config, dict) else {}


def _lambda_layers(root: Any) -> list[str]:
    """Names of the Lambda layers anywhere in a config tree (walked without recursion: a
    hostile file may nest deeper than Python's stack)."""
    found, todo = [], [root]
    while todo:
        node = todo.pop()
        if isinstance(node, Mapping):
            if node.get("class_name") == "Lambda":
                inner = node.get("config")
                found.append(str(inner.get("name", "?") if isinstance(inner, Mapping) else "?"))
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found[::-1]


def _chain(error: BaseException) -> str:
    parts, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        parts.append(str(error))
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return "\n".join(parts)


def load_keras_file(path: str, *, unsafe: bool = False, custom_objects: Mapping[str, Any] | None = None,
                    values: bool = True) -> tuple[Any, str | None]:  # fmt: skip
    """``keras.saving.load_model(path, compile=False)``; refusals and missing classes explained.

    Returns the model and, when its weights could not be loaded yet, the file to load them from
    once the model is built: a subclassed model in a legacy ``.h5`` records no input shape, so
    Keras's loader finds no built layers to fill ("Layer count mismatch"); modelscope rebuilds it
    from the stored config, the trace builds it (``--input-shape``), then the weights are loaded.

    ``values=False`` builds the model from its stored configuration alone, as Keras's loader does
    before it reads the weights, and never opens the weights (a summary needs none): inside
    ``trace.weightless`` a multi-gigabyte file then opens in the time of a small one.
    """
    import keras

    config = stored_config(path)
    lambdas = _lambda_layers(config)
    if unsafe and lambdas:
        names = ", ".join(repr(n) for n in lambdas)
        warnings.warn(f"--unsafe: {path} runs the Python code stored in its Lambda layer(s) {names}",
                      ModelscopeWarning, stacklevel=2)  # fmt: skip
    custom = dict(custom_objects or {})
    keras_format = path.lower().endswith(".keras")
    try:
        if not values:
            return _from_config(path, keras_format, unsafe, custom), None
        _check_weights_storage(path)
        if not keras_format and config.get("class_name") not in _GRAPH_CLASSES:
            model = keras.models.model_from_json(json.dumps(config), custom_objects=custom)
            if not model.built:
                return model, path
        return keras.saving.load_model(path, custom_objects=custom, compile=False, safe_mode=not unsafe), None
    except Exception as e:
        raise _explained(e, path, lambdas, unsafe) from e


def _check_weights_storage(path: str) -> None:
    """Before Keras reads the weights: no dataset may keep its values in another file."""
    from modelscope.load.stored_tree import check_file_storage
    from modelscope.load.without_code import weights_file

    with weights_file(path) as f:
        check_file_storage(f, path)


def _from_config(path: str, keras_format: bool, unsafe: bool, custom: dict[str, Any]) -> Any:
    """The model as Keras's own loader builds it from the file's configuration, before weights."""
    from keras.src.saving import saving_lib, serialization_lib

    if keras_format:
        with zipfile.ZipFile(path) as z:
            getattr(saving_lib, "_reject_zip_bomb", lambda *_: None)(z, "config.json")
            text = z.read("config.json").decode("utf-8")
        return saving_lib._model_from_config(text, custom, compile=False, safe_mode=not unsafe)
    import h5py
    from keras.src.legacy.saving import json_utils, saving_options, saving_utils

    with h5py.File(path, "r") as f:
        raw = f.attrs.get("model_config")
    if raw is None:
        raise ValueError(f"No model config found in the file at {path}.")
    config = json_utils.decode(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    with saving_options.keras_option_scope(use_legacy_config=True), serialization_lib.SafeModeScope(not unsafe):
        return saving_utils.model_from_config(config, custom_objects=custom)


def _explained(e: Exception, path: str, lambdas: list[str], unsafe: bool) -> LoadError:
    """Keras's error as a one-line LoadError that says how to fix it."""
    text = _chain(e)
    oom = re.search(r"OOM when allocating tensor with shape\[([\d,]+)\]", text)
    if oom or isinstance(e, MemoryError):
        what = f"a variable of shape ({oom.group(1).replace(',', ', ')})" if oom else "a variable"
        return LoadError(f"{path}: {what} does not fit in this machine's memory; the file's configuration "
                         "asks for more than it can hold.")  # fmt: skip
    if lambdas and not unsafe or "safe_mode" in text and "Lambda" in text:
        names = ", ".join(f"{n!r} (Lambda)" for n in lambdas) or "a Lambda layer"
        return CodeNeeded(f"{path}: layer {names} stores Python code, which safe mode does not run. If you "
                          "trust this file, add --unsafe (its code will then run).",
                          f"layer {names} stores Python code, not run in safe mode; --unsafe runs it if you "
                          "trust the file")  # fmt: skip
    for pattern in _MISSING:
        missing = pattern.search(text)
        if missing:
            return CodeNeeded(
                f"{path}: uses the custom class {missing.group(1)!r}, which is not defined here. Pass the "
                "code that defines it: --import my_layers.py (or --import package.module).",
                f"the class {missing.group(1)!r} is not defined here; --import the code that defines it "
                "for the full view",
            )
    return LoadError(f"{path}: Keras could not load this file: {first_line(e)}")
