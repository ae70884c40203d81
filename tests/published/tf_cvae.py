"""TensorFlow tutorial "Convolutional Variational Autoencoder", copied as published.

Source: tensorflow/docs, site/en/tutorials/generative/cvae.ipynb
(https://www.tensorflow.org/tutorials/generative/cvae), stored version at commit
c87655c34ba7674564721d944a32fbf550189a26 (model cell identical in 0d13617fbe162a95da7c6930aa69c997a9d62bd8).

Removed: the pip installs, the MNIST download/preprocessing and tf.data cells, the training loop,
`generate_and_save_images`, the GIF/plotting cells and `plot_latent_images` (they need
matplotlib/imageio/tensorflow_probability and data). Kept unchanged: the imports the model
code uses, the `CVAE` class, the loss/optimizer cell (`log_normal_pdf`, `compute_loss`,
`train_step` are only defined, never run) and the cell that sets `latent_dim = 2` and builds
`model = CVAE(latent_dim)`.

What it exercises: a `tf.keras.Model` subclass with NO `call()` (Keras 3 raises when it is
called): `encoder`/`decoder` are `tf.keras.Sequential`s that each start with their own
`InputLayer(input_shape=...)` (so they are built at construction), and the forward pass is
spread over the methods `encode` / `reparameterize` / `decode` / `@tf.function sample`.
`reparameterize` does `tf.random.normal(shape=mean.shape)`, which only works on concrete
tensors (a `None` batch dimension fails), but it is never reached through `call()`.
"""

import tensorflow as tf

import numpy as np
import time


class CVAE(tf.keras.Model):
  """Convolutional variational autoencoder."""

  def __init__(self, latent_dim):
    super(CVAE, self).__init__()
    self.latent_dim = latent_dim
    self.encoder = tf.keras.Sequential(
        [
            tf.keras.layers.InputLayer(input_shape=(28, 28, 1)),
            tf.keras.layers.Conv2D(
                filters=32, kernel_size=3, strides=(2, 2), activation='relu'),
            tf.keras.layers.Conv2D(
                filters=64, kernel_size=3, strides=(2, 2), activation='relu'),
            tf.keras.layers.Flatten(),
            # No activation
            tf.keras.layers.Dense(latent_dim + latent_dim),
        ]
    )

    self.decoder = tf.keras.Sequential(
        [
            tf.keras.layers.InputLayer(input_shape=(latent_dim,)),
            tf.keras.layers.Dense(units=7*7*32, activation=tf.nn.relu),
            tf.keras.layers.Reshape(target_shape=(7, 7, 32)),
            tf.keras.layers.Conv2DTranspose(
                filters=64, kernel_size=3, strides=2, padding='same',
                activation='relu'),
            tf.keras.layers.Conv2DTranspose(
                filters=32, kernel_size=3, strides=2, padding='same',
                activation='relu'),
            # No activation
            tf.keras.layers.Conv2DTranspose(
                filters=1, kernel_size=3, strides=1, padding='same'),
        ]
    )

  @tf.function
  def sample(self, eps=None):
    if eps is None:
      eps = tf.random.normal(shape=(100, self.latent_dim))
    return self.decode(eps, apply_sigmoid=True)

  def encode(self, x):
    mean, logvar = tf.split(self.encoder(x), num_or_size_splits=2, axis=1)
    return mean, logvar

  def reparameterize(self, mean, logvar):
    eps = tf.random.normal(shape=mean.shape)
    return eps * tf.exp(logvar * .5) + mean

  def decode(self, z, apply_sigmoid=False):
    logits = self.decoder(z)
    if apply_sigmoid:
      probs = tf.sigmoid(logits)
      return probs
    return logits


optimizer = tf.keras.optimizers.Adam(1e-4)


def log_normal_pdf(sample, mean, logvar, raxis=1):
  log2pi = tf.math.log(2. * np.pi)
  return tf.reduce_sum(
      -.5 * ((sample - mean) ** 2. * tf.exp(-logvar) + logvar + log2pi),
      axis=raxis)


def compute_loss(model, x):
  mean, logvar = model.encode(x)
  z = model.reparameterize(mean, logvar)
  x_logit = model.decode(z)
  cross_ent = tf.nn.sigmoid_cross_entropy_with_logits(logits=x_logit, labels=x)
  logpx_z = -tf.reduce_sum(cross_ent, axis=[1, 2, 3])
  logpz = log_normal_pdf(z, 0., 0.)
  logqz_x = log_normal_pdf(z, mean, logvar)
  return -tf.reduce_mean(logpx_z + logpz - logqz_x)


@tf.function
def train_step(model, x, optimizer):
  """Executes one training step and returns the loss.

  This function computes the loss and gradients, and uses the latter to
  update the model's parameters.
  """
  with tf.GradientTape() as tape:
    loss = compute_loss(model, x)
  gradients = tape.gradient(loss, model.trainable_variables)
  optimizer.apply_gradients(zip(gradients, model.trainable_variables))


epochs = 10
# set the dimensionality of the latent space to a plane for visualization later
latent_dim = 2
num_examples_to_generate = 16

# keeping the random vector constant for generation (prediction) so
# it will be easier to see the improvement.
random_vector_for_generation = tf.random.normal(
    shape=[num_examples_to_generate, latent_dim])
model = CVAE(latent_dim)


# --- modelscope test metadata (not part of the tutorial) ---
INPUT_SHAPE = "None,28,28,1"      # what encode() takes; the model has no call()
EXPECTED_PARAMS = None
