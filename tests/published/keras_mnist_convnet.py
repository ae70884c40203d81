"""Keras example "Simple MNIST convnet", copied as published.

Source: keras-team/keras-io, examples/vision/mnist_convnet.py
(https://keras.io/examples/vision/mnist_convnet/), stored version at commit
02cfe8063b505adc073986c91729f22039f77ad0 (header: Date created 2015/06/19, Last modified
2020/04/21; written against `from tensorflow import keras`).

Removed: the MNIST download and preprocessing, `to_categorical`, `model.summary()`, compile, fit
and evaluate. Kept unchanged: the imports, "Model / data parameters" and the model.

What it exercises: the plain baseline: a Sequential starting with `keras.Input(shape=...)`,
declared inputs, no custom code.
"""

import numpy as np
from tensorflow import keras
from tensorflow.keras import layers

# Model / data parameters
num_classes = 10
input_shape = (28, 28, 1)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)


# --- modelscope test metadata (not part of the example) ---
INPUT_SHAPE = None                # declared: (None, 28, 28, 1)
EXPECTED_PARAMS = None
