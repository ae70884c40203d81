"""Models built in tests (not in the samples): loops, shared layers, residual blocks, several inputs."""

from __future__ import annotations

import keras
from keras import layers, ops


class Residual(layers.Layer):
    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.Sequential([layers.Dense(units, activation="relu"), layers.Dense(units)])
        self.norm = layers.LayerNormalization()

    def call(self, x):
        return self.norm(x + self.inner(x))


class LoopNet(keras.Model):
    """A stem, two residual blocks in a list, one Dense applied three times, an unused layer."""

    def __init__(self):
        super().__init__()
        self.stem = layers.Dense(32)
        self.blocks = [Residual(32, name=f"block{i}") for i in range(2)]
        self.shared = layers.Dense(32, name="shared")
        self.bn = layers.BatchNormalization()
        self.unused = layers.Dense(7)
        self.head = layers.Dense(3)
        self.scale = self.add_weight(shape=(3,), initializer="ones", name="scale")

    def call(self, x, training=False):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        for _ in range(3):
            x = self.shared(x)
        x = self.bn(x, training=training)
        return self.head(ops.relu(x)) * self.scale


class TwoArgs(keras.Model):
    """call(image, meta): two separate arguments."""

    def __init__(self):
        super().__init__()
        self.flat = layers.Flatten()
        self.meta = layers.Dense(4)
        self.out = layers.Dense(2)

    def call(self, image, meta):
        return self.out(ops.concatenate([self.flat(image), self.meta(meta)], axis=-1))


class DictInputs(keras.Model):
    """call(inputs) taking a dict of token ids and a mask."""

    def __init__(self):
        super().__init__()
        self.embed = layers.Embedding(100, 8)
        self.pool = layers.GlobalAveragePooling1D()

    def call(self, inputs):
        return self.pool(self.embed(inputs["ids"]) * ops.expand_dims(inputs["weights"], -1))


class Failing(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(4)
        self.conv = layers.Conv2D(3, 3)

    def call(self, x):
        return self.conv(self.dense(x))
