"""Importing Keras quietly. Only ``load`` and ``trace`` call this; nothing else imports TensorFlow."""

from __future__ import annotations

import os
import sys
import tempfile
from types import ModuleType
from typing import cast


def import_keras() -> ModuleType:
    """Import Keras (and TensorFlow) without the C++ start-up chatter on stderr.

    TensorFlow prints CUDA probing messages straight to file descriptor 2 before any log
    setting applies, so stderr is pointed at a scratch file while it starts; if the import
    fails, what it printed is replayed so nothing is hidden.
    """
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as scratch:
        os.dup2(scratch.fileno(), 2)
        try:
            import keras
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe happens here, still silenced
        except BaseException:
            os.dup2(saved, 2)
            scratch.seek(0)
            sys.stderr.write(scratch.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
    return cast(ModuleType, keras)
