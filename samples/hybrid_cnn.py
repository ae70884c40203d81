"""A hybrid: a Model subclass holding a feature-extractor Sequential and a classifier Sequential.

Keras's own summary shows every layer of this model as "? | 0 (unbuilt)" after
model.build(input_shape=(None, 28, 28, 1)); `modelscope summary` shows the truth:

    modelscope summary samples/hybrid_cnn.py --input-shape None,28,28,1
"""

from keras.layers import Conv2D, Dense, Flatten, MaxPooling2D
from keras.models import Model, Sequential


class CNN_Model(Model):
    def __init__(self):
        super().__init__()

        # feature extractor
        self.fe = Sequential()
        self.fe.add(Conv2D(filters=8, kernel_size=5, padding="same", activation="relu"))
        self.fe.add(MaxPooling2D(pool_size=2, strides=2))
        self.fe.add(Conv2D(filters=32, kernel_size=5, padding="same", activation="relu"))
        self.fe.add(MaxPooling2D(pool_size=2, strides=2))

        # classifier
        self.classifier = Sequential()
        self.classifier.add(Flatten())
        self.classifier.add(Dense(units=64, activation="relu"))
        self.classifier.add(Dense(units=10, activation="softmax"))

    def call(self, x):
        x = self.fe(x)
        x = self.classifier(x)
        return x
