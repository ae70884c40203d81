"""TensorFlow guide "Understanding masking & padding", copied as published.

Source: tensorflow/docs, site/en/guide/keras/masking_and_padding.ipynb
(https://www.tensorflow.org/guide/keras/understanding_masking_and_padding), stored version at
commit 2cd104a6d38a07556c0e2125cb4e16c45c8bc332.

Removed: the padding demo and every print/demo cell that only shows masks on sample data
(`print(masked_output._keras_mask)`, the `Masking` demo, the `TemporalSplit(...)(masked_embedding)`
and `CustomEmbedding` demos, `print("Mask found:", x._keras_mask)`) and, in the last cell,
`y = model(np.random.randint(0, 10, size=(32, 100)), np.random.random((32, 100, 1)))`. Kept
unchanged: the setup imports and every class and model cell, in order. As in the guide, `model`
is reassigned four times; the module's model is the last one.

What it exercises: MASKING. The final `model` is functional: int32 tokens (None, None) ->
`Embedding(mask_zero=True)` -> Dense -> `TemporalSoftmax`, a custom mask CONSUMER whose
`call(self, inputs, mask=None)` uses the propagated mask with raw TF ops (it would fail with
`mask=None`: `tf.cast(None, ...)`). Also defined: `MyLayer` (passes `mask=` to an LSTM by hand,
called eagerly at import), `TemporalSplit`/`CustomEmbedding` (custom `compute_mask`),
`MyActivation` (`supports_masking = True`).
"""

import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential(
    [layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True), layers.LSTM(32),]
)

inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
outputs = layers.LSTM(32)(x)

model = keras.Model(inputs, outputs)


class MyLayer(layers.Layer):
    def __init__(self, **kwargs):
        super(MyLayer, self).__init__(**kwargs)
        self.embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
        self.lstm = layers.LSTM(32)

    def call(self, inputs):
        x = self.embedding(inputs)
        # Note that you could also prepare a `mask` tensor manually.
        # It only needs to be a boolean tensor
        # with the right shape, i.e. (batch_size, timesteps).
        mask = self.embedding.compute_mask(inputs)
        output = self.lstm(x, mask=mask)  # The layer will ignore the masked values
        return output


layer = MyLayer()
x = np.random.random((32, 10)) * 100
x = x.astype("int32")
layer(x)


class TemporalSplit(keras.layers.Layer):
    """Split the input tensor into 2 tensors along the time dimension."""

    def call(self, inputs):
        # Expect the input to be 3D and mask to be 2D, split the input tensor into 2
        # subtensors along the time axis (axis 1).
        return tf.split(inputs, 2, axis=1)

    def compute_mask(self, inputs, mask=None):
        # Also split the mask into 2 if it presents.
        if mask is None:
            return None
        return tf.split(mask, 2, axis=1)


class CustomEmbedding(keras.layers.Layer):
    def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
        super(CustomEmbedding, self).__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.mask_zero = mask_zero

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim),
            initializer="random_normal",
            dtype="float32",
        )

    def call(self, inputs):
        return tf.nn.embedding_lookup(self.embeddings, inputs)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return tf.not_equal(inputs, 0)


class MyActivation(keras.layers.Layer):
    def __init__(self, **kwargs):
        super(MyActivation, self).__init__(**kwargs)
        # Signal that the layer is safe for mask propagation
        self.supports_masking = True

    def call(self, inputs):
        return tf.nn.relu(inputs)


inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
x = MyActivation()(x)  # Will pass the mask along
outputs = layers.LSTM(32)(x)  # Will receive the mask

model = keras.Model(inputs, outputs)


class TemporalSoftmax(keras.layers.Layer):
    def call(self, inputs, mask=None):
        broadcast_float_mask = tf.expand_dims(tf.cast(mask, "float32"), -1)
        inputs_exp = tf.exp(inputs) * broadcast_float_mask
        inputs_sum = tf.reduce_sum(
            inputs_exp * broadcast_float_mask, axis=-1, keepdims=True
        )
        return inputs_exp / inputs_sum


inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
x = layers.Dense(1)(x)
outputs = TemporalSoftmax()(x)

model = keras.Model(inputs, outputs)


# --- modelscope test metadata (not part of the guide) ---
INPUT_SHAPE = None                # declared: (None, None) int32
EXPECTED_PARAMS = None
