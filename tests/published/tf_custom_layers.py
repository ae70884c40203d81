"""TensorFlow tutorial "Custom layers", copied as published.

Source: tensorflow/docs, site/en/tutorials/customization/custom_layers.ipynb
(https://www.tensorflow.org/tutorials/customization/custom_layers), stored versions at commits
02b796f30713c373d7a3df6736d7b9340445a506 and a9413810508a3c335b75b96c832664682a0c1969 (identical
code cells).

Removed: `print(tf.test.is_gpu_available())` and the inspection-only cells (`layer.variables`,
`layer.kernel, layer.bias`, `print([var.name ...])`, `block.layers`, `len(block.variables)`,
`block.summary()`, `my_seq.summary()`). Everything else is the code cells in order, unchanged
(2-space indentation, `tf.keras` as written; `tf.keras` is Keras 3 in TF 2.21).

What it exercises: `ResnetIdentityBlock(tf.keras.Model)` calls
`super(ResnetIdentityBlock, self).__init__(name='')` (an EMPTY model name), uses raw `tf.nn.relu`
and an in-place residual `x += input_tensor`; the tutorial calls the block eagerly once on
`tf.zeros([1, 2, 3, 3])` at import, so it is already built (with batch 1) when modelscope gets it.
The module also defines a second model, `my_seq` (Sequential with `input_shape=` on its first
layer), so the file has two candidates: pick with `--object block` / `--object my_seq`.
"""

import tensorflow as tf

# In the tf.keras.layers package, layers are objects. To construct a layer,
# simply construct the object. Most layers take as a first argument the number
# of output dimensions / channels.
layer = tf.keras.layers.Dense(100)
# The number of input dimensions is often unnecessary, as it can be inferred
# the first time the layer is used, but it can be provided if you want to
# specify it manually, which is useful in some complex models.
layer = tf.keras.layers.Dense(10, input_shape=(None, 5))

# To use a layer, simply call it.
layer(tf.zeros([10, 5]))


class MyDenseLayer(tf.keras.layers.Layer):
  def __init__(self, num_outputs):
    super(MyDenseLayer, self).__init__()
    self.num_outputs = num_outputs

  def build(self, input_shape):
    self.kernel = self.add_weight("kernel",
                                  shape=[int(input_shape[-1]),
                                         self.num_outputs])

  def call(self, input):
    return tf.matmul(input, self.kernel)

layer = MyDenseLayer(10)

_ = layer(tf.zeros([10, 5])) # Calling the layer `.builds` it.


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

my_seq = tf.keras.Sequential([tf.keras.layers.Conv2D(1, (1, 1),
                                                    input_shape=(
                                                        None, None, 3)),
                             tf.keras.layers.BatchNormalization(),
                             tf.keras.layers.Conv2D(2, 1,
                                                    padding='same'),
                             tf.keras.layers.BatchNormalization(),
                             tf.keras.layers.Conv2D(3, (1, 1)),
                             tf.keras.layers.BatchNormalization()])
my_seq(tf.zeros([1, 2, 3, 3]))


# --- modelscope test metadata (not part of the tutorial) ---
OBJECT = "block"                  # --object; the file also holds `my_seq` (INPUT_SHAPE below fits both)
INPUT_SHAPE = "None,2,3,3"        # the tutorial's tf.zeros([1, 2, 3, 3]) with the batch left open
EXPECTED_PARAMS = None
