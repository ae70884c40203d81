"""TensorFlow tutorial "Custom layers", section "Models: Composing layers" (`ResnetIdentityBlock`),
copied as published.

Source: tensorflow/docs, site/en/tutorials/customization/custom_layers.ipynb
(https://www.tensorflow.org/tutorials/customization/custom_layers), stored versions at commits
02b796f30713c373d7a3df6736d7b9340445a506 and a9413810508a3c335b75b96c832664682a0c1969 (identical
code cells).

This file holds only the tutorial's import cell and its ResNet-block cells, because the whole
tutorial (tf_custom_layers.py) stops at import under Keras 3 before reaching the block: its
earlier `MyDenseLayer.build` calls `self.add_weight("kernel", shape=...)` with the name
positional, which Keras 3 rejects. Removed here: every other cell (the Dense/MyDenseLayer
demos, `block.layers`, `len(block.variables)`, `block.summary()`, the `my_seq` cells).

What it exercises: `super(ResnetIdentityBlock, self).__init__(name='')` (EMPTY model name),
raw `tf.nn.relu` between layers, BatchNormalization with `training=training` from
`call(self, input_tensor, training=False)`, and a residual written as `x += input_tensor`. The
tutorial calls the block once eagerly on `tf.zeros([1, 2, 3, 3])` at import, so it is built
(with batch 1) before modelscope sees it.
"""

import tensorflow as tf


class ResnetIdentityBlock(tf.keras.Model):
  def __init__(self, kernel_size, filters):
    super(ResnetIdentityBlock, self).__init__(name='')
    filters1, filters2, filters3 = filters

    self.conv2a = tf.keras.layers.Conv2D(filters1, (1, 1))
    self.bn2a = tf.keras.layers.BatchNormalization()

    self.conv2b = tf.keras.layers.Conv2D(filters2, kernel_size, padding='same')
    self.bn2b = tf.keras.layers.BatchNormalization()

    self.conv2c = tf.keras.layers.Conv2D(filters3, (1, 1))
    self.bn2c = tf.keras.layers.BatchNormalization()

  def call(self, input_tensor, training=False):
    x = self.conv2a(input_tensor)
    x = self.bn2a(x, training=training)
    x = tf.nn.relu(x)

    x = self.conv2b(x)
    x = self.bn2b(x, training=training)
    x = tf.nn.relu(x)

    x = self.conv2c(x)
    x = self.bn2c(x, training=training)

    x += input_tensor
    return tf.nn.relu(x)


block = ResnetIdentityBlock(1, [1, 2, 3])

_ = block(tf.zeros([1, 2, 3, 3])) 


# --- modelscope test metadata (not part of the tutorial) ---
INPUT_SHAPE = "None,2,3,3"        # the tutorial's tf.zeros([1, 2, 3, 3]) with the batch left open
EXPECTED_PARAMS = None
