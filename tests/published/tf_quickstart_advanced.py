"""TensorFlow 2 quickstart for experts, copied as published.

Source: tensorflow/docs, site/en/tutorials/quickstart/advanced.ipynb
(https://www.tensorflow.org/tutorials/quickstart/advanced), stored version at commit
c87655c34ba7674564721d944a32fbf550189a26.

Removed: the MNIST download and tf.data cells, the loss/optimizer/metric objects, the
`train_step`/`test_step` functions and the epoch loop. Kept unchanged: the imports and the model
cell.

What it exercises: the canonical subclassed model (`MyModel(Model)` with a no-argument
constructor and a module-level instance `model` that hides the class), built only by the trace.
"""

import tensorflow as tf

from tensorflow.keras.layers import Dense, Flatten, Conv2D
from tensorflow.keras import Model


class MyModel(Model):
  def __init__(self):
    super(MyModel, self).__init__()
    self.conv1 = Conv2D(32, 3, activation='relu')
    self.flatten = Flatten()
    self.d1 = Dense(128, activation='relu')
    self.d2 = Dense(10)

  def call(self, x):
    x = self.conv1(x)
    x = self.flatten(x)
    x = self.d1(x)
    return self.d2(x)

# Create an instance of the model
model = MyModel()


# --- modelscope test metadata (not part of the tutorial) ---
INPUT_SHAPE = "None,28,28,1"      # x_train[..., tf.newaxis]
EXPECTED_PARAMS = None
