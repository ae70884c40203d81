"""Keras example "Timeseries classification with a Transformer model", copied as published.

Source: keras-team/keras-io, examples/timeseries/timeseries_classification_transformer.py
(https://keras.io/examples/timeseries/timeseries_classification_transformer/), stored version at
commit 2024821a4b87a21175467773a130c12735673796 (header: Date created 2021/06/25, Last modified
2021/08/05; `from tensorflow import keras`).

Removed: `readucr` and the FordA download/reshaping, compile, `model.summary()`, callbacks, fit and
evaluate.
Changed: two values the example derives from its data are written as constants:
`n_classes = len(np.unique(y_train))` is 2 (FordA labels -1/1) and
`input_shape = x_train.shape[1:]` is (500, 1) (FordA series of 500 steps, one feature).

What it exercises: `build_model(input_shape, head_size, ...)` is a factory with REQUIRED
arguments (modelscope cannot call it; the module-level `model` built from it is the candidate);
a functional graph whose residuals are raw KerasTensor additions (`res = x + inputs`,
`return x + res`: no `Add` layer), a `Conv1D` whose filters come from `inputs.shape[-1]`, and 4
stacked encoder blocks made by a Python loop.
"""

import numpy as np

from tensorflow import keras
from tensorflow.keras import layers

n_classes = 2  # len(np.unique(y_train)) for FordA


def transformer_encoder(inputs, head_size, num_heads, ff_dim, dropout=0):
    # Attention and Normalization
    x = layers.MultiHeadAttention(
        key_dim=head_size, num_heads=num_heads, dropout=dropout
    )(inputs, inputs)
    x = layers.Dropout(dropout)(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    res = x + inputs

    # Feed Forward Part
    x = layers.Conv1D(filters=ff_dim, kernel_size=1, activation="relu")(res)
    x = layers.Dropout(dropout)(x)
    x = layers.Conv1D(filters=inputs.shape[-1], kernel_size=1)(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    return x + res


def build_model(
    input_shape,
    head_size,
    num_heads,
    ff_dim,
    num_transformer_blocks,
    mlp_units,
    dropout=0,
    mlp_dropout=0,
):
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for _ in range(num_transformer_blocks):
        x = transformer_encoder(x, head_size, num_heads, ff_dim, dropout)

    x = layers.GlobalAveragePooling1D(data_format="channels_last")(x)
    for dim in mlp_units:
        x = layers.Dense(dim, activation="relu")(x)
        x = layers.Dropout(mlp_dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


input_shape = (500, 1)  # x_train.shape[1:] for FordA

model = build_model(
    input_shape,
    head_size=256,
    num_heads=4,
    ff_dim=4,
    num_transformer_blocks=4,
    mlp_units=[128],
    mlp_dropout=0.4,
    dropout=0.25,
)


# --- modelscope test metadata (not part of the example) ---
INPUT_SHAPE = None                # declared: (None, 500, 1)
EXPECTED_PARAMS = None
