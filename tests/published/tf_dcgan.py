"""TensorFlow tutorial "Deep Convolutional Generative Adversarial Network", copied as published.

Source: tensorflow/docs, site/en/tutorials/generative/dcgan.ipynb
(https://www.tensorflow.org/tutorials/generative/dcgan), stored version at commit
945a448704b25a0897ed24abd45ab4d0b0d6f3c2.

Removed: the MNIST download/preprocessing and tf.data cells, `plt.imshow(...)` /
`print (decision)`, the checkpoint, training-loop, image-saving and GIF cells. Kept unchanged:
the imports the model code uses, `make_generator_model()`, `make_discriminator_model()`, the
cells that build them and call them once eagerly (`generator(noise, training=False)`,
`discriminator(generated_image)`), and the loss/optimizer definitions.

What it exercises: factory functions whose names are NOT among modelscope's factory names
(`make_generator_model`, `make_discriminator_model`), Sequentials built with `model.add` and
`input_shape=` on the first layer, Python `assert model.output_shape == ...` checks inside the
factory. The module holds two model instances (`generator`, `discriminator`): pick one with
`--object generator` / `--object discriminator`; both declare their inputs.
"""

import tensorflow as tf

from tensorflow.keras import layers
import time


def make_generator_model():
    model = tf.keras.Sequential()
    model.add(layers.Dense(7*7*256, use_bias=False, input_shape=(100,)))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Reshape((7, 7, 256)))
    assert model.output_shape == (None, 7, 7, 256) # Note: None is the batch size

    model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding='same', use_bias=False))
    assert model.output_shape == (None, 7, 7, 128)
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding='same', use_bias=False))
    assert model.output_shape == (None, 14, 14, 64)
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding='same', use_bias=False, activation='tanh'))
    assert model.output_shape == (None, 28, 28, 1)

    return model


generator = make_generator_model()

noise = tf.random.normal([1, 100])
generated_image = generator(noise, training=False)


def make_discriminator_model():
    model = tf.keras.Sequential()
    model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding='same',
                                     input_shape=[28, 28, 1]))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Conv2D(128, (5, 5), strides=(2, 2), padding='same'))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Flatten())
    model.add(layers.Dense(1))

    return model


discriminator = make_discriminator_model()
decision = discriminator(generated_image)

# This method returns a helper function to compute cross entropy loss
cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)


def discriminator_loss(real_output, fake_output):
    real_loss = cross_entropy(tf.ones_like(real_output), real_output)
    fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
    total_loss = real_loss + fake_loss
    return total_loss


def generator_loss(fake_output):
    return cross_entropy(tf.ones_like(fake_output), fake_output)


generator_optimizer = tf.keras.optimizers.Adam(1e-4)
discriminator_optimizer = tf.keras.optimizers.Adam(1e-4)

EPOCHS = 50
noise_dim = 100
num_examples_to_generate = 16


# --- modelscope test metadata (not part of the tutorial) ---
OBJECT = "generator"              # the file also holds `discriminator` (declares (None, 28, 28, 1))
INPUT_SHAPE = None                # both Sequentials declare their inputs
EXPECTED_PARAMS = None
