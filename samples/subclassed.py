"""A Model subclass whose layers are wired in call(). No instance: modelscope makes one."""

from keras.layers import Dense
from keras.models import Model


class TestModel(Model):
    def __init__(self):
        super().__init__()
        self.dense1 = Dense(units=10, activation="sigmoid")
        self.dense2 = Dense(units=20, activation="sigmoid")

    def call(self, x):
        x = self.dense1(x)
        x = self.dense2(x)
        return x
