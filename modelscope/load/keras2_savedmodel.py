"""Keras-2 SavedModel directories (``tf_keras`` / ``tf.keras`` 2.x, ``save_format="tf"``): loading.

Loaded by ``tf_keras`` itself in safe mode (a Lambda's marshalled bytecode is not revived; the layer
runs its saved graph). Not converted to Keras 3, which cannot read many Keras-2 configs
(BatchNormalization's ``axis: [3]``, ``TFOpLambda``, revived classes). Graph networks naming only
Keras classes are rebuilt from ``keras_metadata.pb`` and the checkpoint: MobileNetV2 in 3 s, not 10 s.
The loaded model is traced by :mod:`modelscope.trace.keras2`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from typing import Any

from modelscope.errors import LoadError
from modelscope.model import traced as t_
from modelscope.trace.recorder import clean_message

__all__ = ["is_keras2_savedmodel", "load_keras2_savedmodel"]

INSTALL_HINT = "pip install 'keras-modelscope[legacy]'"
_LAYER_FN = re.compile(r"^__inference_(.+)_layer_call_and_return_conditional_losses_\d+$")
_CALL_OPS = ("StatefulPartitionedCall", "PartitionedCall")


def is_keras2_savedmodel(path: str) -> bool:
    """A SavedModel directory written by Keras 2 (it holds ``keras_metadata.pb``)."""
    return all(os.path.isfile(os.path.join(path, f)) for f in ("saved_model.pb", "keras_metadata.pb"))


def load_keras2_savedmodel(path: str, label: str | None = None) -> tuple[Any, t_.TracedModel]:
    """Load a Keras-2 SavedModel directory with ``tf_keras`` and trace one call on its saved inputs.

    Returns the ``tf_keras`` model (for weight values: ``model.weights`` is in the order of the
    traced variables) and the :class:`TracedModel`.
    """
    if not os.path.isdir(path):
        raise LoadError(f"{path}: not a directory; a Keras-2 SavedModel is a directory")
    if not is_keras2_savedmodel(path):
        raise LoadError(
            f"{path}: not a Keras-2 SavedModel (saved_model.pb and keras_metadata.pb are needed). A SavedModel "
            "from Keras 3's model.export() or plain TensorFlow keeps no layer structure."
        )
    from modelscope._keras import import_keras

    import_keras()  # TensorFlow, quietly
    try:
        import tf_keras
    except ImportError as e:
        raise LoadError(f"{path}: reading a Keras-2 SavedModel needs tf_keras: {INSTALL_HINT}") from e
    from modelscope.trace.keras2 import trace_keras2

    model = _load(tf_keras, path)
    return model, trace_keras2(model, path if label is None else label)


# -- loading ---------------------------------------------------------------------------------------


def _why(error: BaseException) -> str:
    return clean_message(error).splitlines()[0]


def _root_metadata(path: str) -> dict[str, Any]:
    from tf_keras.protobuf import saved_metadata_pb2
    from tf_keras.src.saving.legacy.saved_model import json_utils

    try:
        with open(os.path.join(path, "keras_metadata.pb"), "rb") as f:
            proto = saved_metadata_pb2.SavedMetadata.FromString(f.read())
        return next(json_utils.decode(n.metadata) for n in proto.nodes if n.node_path == "root")
    except Exception as e:
        raise LoadError(f"{path}: keras_metadata.pb is damaged ({_why(e)})") from e


def _keras_classes_only(config: Any) -> bool:
    """No class in ``config`` comes from a module outside Keras (such configs take the full loader)."""
    modules = re.findall(r'"module": "([^"]*)"', json.dumps(config, default=str))
    return all(m.split(".")[0] in ("keras", "tf_keras") for m in modules)


def _from_config(tf_keras: Any, path: str, meta: dict[str, Any]) -> Any | None:
    """A graph network rebuilt from its config and checkpoint; None if that is not exact."""
    config = meta.get("model_config")
    if not meta.get("is_graph_network") or not _keras_classes_only(config):
        return None
    try:
        model = tf_keras.models.model_from_config(config)
        status = model.load_weights(os.path.join(path, "variables", "variables"))
        status.assert_existing_objects_matched()
        status.expect_partial()  # the checkpoint also holds the saved functions' objects
        if meta.get("trainable") is False:  # as the full loader does (True would unfreeze every layer)
            model.trainable = False
        return model
    except Exception:
        return None


def _load(tf_keras: Any, path: str) -> Any:
    from tensorflow.core.protobuf import saved_model_pb2
    from tf_keras.src.saving.serialization_lib import SafeModeScope

    try:  # the fast path below never reads it: check it is whole (20 ms for MobileNetV2)
        with open(os.path.join(path, "saved_model.pb"), "rb") as f:
            saved_model_pb2.SavedModel.FromString(f.read())
    except Exception as e:
        raise LoadError(f"{path}: saved_model.pb is damaged ({_why(e)})") from e
    meta = _root_metadata(path)
    with SafeModeScope(True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _from_config(tf_keras, path, meta)
        if model is not None:
            return model
        try:
            return tf_keras.models.load_model(path, compile=False)
        except Exception as e:
            raise LoadError(f"{path}: tf_keras could not load this SavedModel: {_why(e)}") from e


# -- tracing ---------------------------------------------------------------------------------------
