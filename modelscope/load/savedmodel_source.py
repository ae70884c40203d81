"""SavedModel directories: a Keras-2 one through ``tf_keras`` (the full Keras tree), any other
read from ``saved_model.pb`` (signatures, variables, a tree from name scopes). No code stored in
the directory runs, and nothing in it is written.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from modelscope.errors import LoadError, ModelscopeWarning
from modelscope.model.report import VariableInfo
from modelscope.model.traced import build_report

if TYPE_CHECKING:
    from modelscope.load.opened import Opened
    from modelscope.load.source import LoadOptions, SourceRef
    from modelscope.model.inputs import InputSpec


def open_savedmodel(ref: SourceRef, spec: InputSpec, options: LoadOptions) -> Opened:
    from modelscope.load.keras2_savedmodel import INSTALL_HINT, is_keras2_savedmodel

    if is_keras2_savedmodel(ref.target):
        if importlib.util.find_spec("tf_keras") is not None and not options.no_code:
            return _keras2(ref)
        reason = "--no-code" if options.no_code else f"tf_keras is not installed; {INSTALL_HINT} for the full view"
        try:
            return _keras2_without_code(ref, reason)
        except LoadError as e:
            warnings.warn(f"{ref.target} was saved by Keras 2 and its Keras records cannot be read ({e}); only its "
                          f"stored variables and name scopes are read.", ModelscopeWarning, stacklevel=2)  # fmt: skip
    return _generic(ref, options)


def _keras2_without_code(ref: SourceRef, reason: str) -> Opened:
    """The Keras tree a Keras-2 SavedModel records, read as data (no tf_keras, no TensorFlow)."""
    from modelscope.load.keras2_without_code import read_keras2_without_code
    from modelscope.load.opened import Opened

    traced, values = read_keras2_without_code(ref.target, ref.label, reason)
    report = build_report(traced)
    return Opened(report, None, lambda: values(report.variables))


def _generic(ref: SourceRef, options: LoadOptions) -> Opened:
    from modelscope.load.opened import Opened
    from modelscope.load.savedmodel import read_savedmodel

    contents = read_savedmodel(ref.target, options.signature, ref.label)
    report = build_report(contents.traced)
    return Opened(report, None, lambda: checkpoint_values(ref.target, report.variables, contents.checkpoint_keys))


def checkpoint_values(path: str, variables: tuple[VariableInfo, ...], keys: tuple[str, ...]
                      ) -> Iterator[tuple[VariableInfo, np.ndarray]]:  # fmt: skip
    """Each variable's value, read from the SavedModel's checkpoint one tensor at a time."""
    from modelscope._keras import import_keras

    import_keras()
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(os.path.join(path, "variables", "variables"))
    except Exception as e:  # tf.errors.OpError and friends: a damaged checkpoint
        first = str(e).splitlines()[0] if str(e) else ""
        raise LoadError(f"{path}: cannot read the checkpoint in variables/ ({type(e).__name__}: {first}). "
                        "Copy the whole SavedModel again.") from e  # fmt: skip
    for info, key in zip(variables, keys):
        try:
            value = np.asarray(reader.get_tensor(key))
        except Exception as e:
            raise LoadError(f"{path}: cannot read {key} from the checkpoint ({type(e).__name__})") from e
        yield info, value


def _keras2(ref: SourceRef) -> Opened:
    from modelscope.load.keras2_savedmodel import load_keras2_savedmodel
    from modelscope.load.opened import Opened
    from modelscope.trace.weights import variable_values

    model, traced = load_keras2_savedmodel(ref.target, ref.label)
    report = build_report(traced)
    return Opened(report, model, lambda: variable_values(model, report))
