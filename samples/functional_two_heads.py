"""A functional model with two inputs (an image and token ids) and two outputs."""

import keras
from keras import layers


def build_model():
    image = keras.Input(shape=(32, 32, 3), name="image")
    tokens = keras.Input(shape=(16,), dtype="int32", name="tokens")

    x = layers.Conv2D(16, 3, activation="relu", name="conv")(image)
    x = layers.GlobalAveragePooling2D(name="pool")(x)

    t = layers.Embedding(input_dim=1000, output_dim=32, name="embed")(tokens)
    t = layers.GlobalAveragePooling1D(name="text_pool")(t)

    merged = layers.Concatenate(name="merge")([x, t])
    hidden = layers.Dense(64, activation="relu", name="hidden")(merged)
    label = layers.Dense(5, activation="softmax", name="label")(hidden)
    score = layers.Dense(1, name="score")(hidden)
    return keras.Model(inputs=[image, tokens], outputs=[label, score], name="two_heads")
