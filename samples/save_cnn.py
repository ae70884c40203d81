"""Save the hybrid CNN three ways, for the README's examples of model files:

    python samples/save_cnn.py            # writes cnn.keras, cnn.weights.h5 and cnn_export/ here

then ``modelscope summary cnn.keras --import samples/hybrid_cnn.py``, ``modelscope summary
cnn.weights.h5``, ``modelscope summary cnn_export/``. An existing file of those names is not
overwritten: the script stops and says so.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hybrid_cnn import CNN_Model  # noqa: E402

TARGETS = ("cnn.keras", "cnn.weights.h5", "cnn_export")

if __name__ == "__main__":
    existing = [t for t in TARGETS if os.path.exists(t)]
    if existing:
        sys.exit(f"save_cnn.py: {', '.join(existing)} exist(s) here already; remove them or run it elsewhere")
    model = CNN_Model()
    model(np.zeros((1, 28, 28, 1), "float32"))  # builds every layer
    model.save("cnn.keras")
    model.save_weights("cnn.weights.h5")
    model.export("cnn_export", verbose=False)
    print("wrote " + ", ".join(TARGETS))
