"""TensorFlow guide "Making new layers and models via subclassing", end-to-end VAE, as published.

Source: tensorflow/docs, site/en/guide/keras/custom_layers_and_models.ipynb
(https://www.tensorflow.org/guide/keras/custom_layers_and_models), stored version at commit
e9aee83d8d1070b02d151d8459323af578dcfcc6, section "Putting it all together: an end-to-end
example".

Removed: the MNIST download, the custom training loop, the `vae.compile/fit` cell and the
following "Functional API" section (a second VAE that ends in `vae.add_loss(symbolic tensor)`
and `fit`). Kept unchanged: the guide's setup imports and the cell defining `Sampling`,
`Encoder`, `Decoder`, `VariationalAutoEncoder`, plus `original_dim = 784` and
`vae = VariationalAutoEncoder(original_dim, 64, 32)` from the training cell.

What it exercises: a subclassed model made of subclassed LAYERS (`Encoder`, `Decoder`, with
`name=` defaults) nesting a `Sampling` layer that returns three tensors; `Sampling` uses the
legacy `tf.keras.backend.random_normal` with a `tf.shape`-built shape; `call()` computes a KL term
with raw ops and registers it with `self.add_loss(...)`.
"""

import tensorflow as tf
from tensorflow import keras

from tensorflow.keras import layers


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = tf.shape(z_mean)[0]
        dim = tf.shape(z_mean)[1]
        epsilon = tf.keras.backend.random_normal(shape=(batch, dim))
        return z_mean + tf.exp(0.5 * z_log_var) * epsilon


class Encoder(layers.Layer):
    """Maps MNIST digits to a triplet (z_mean, z_log_var, z)."""

    def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
        super(Encoder, self).__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_mean = layers.Dense(latent_dim)
        self.dense_log_var = layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean = self.dense_mean(x)
        z_log_var = self.dense_log_var(x)
        z = self.sampling((z_mean, z_log_var))
        return z_mean, z_log_var, z


class Decoder(layers.Layer):
    """Converts z, the encoded digit vector, back into a readable digit."""

    def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
        super(Decoder, self).__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_output = layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        x = self.dense_proj(inputs)
        return self.dense_output(x)


class VariationalAutoEncoder(keras.Model):
    """Combines the encoder and decoder into an end-to-end model for training."""

    def __init__(
        self,
        original_dim,
        intermediate_dim=64,
        latent_dim=32,
        name="autoencoder",
        **kwargs
    ):
        super(VariationalAutoEncoder, self).__init__(name=name, **kwargs)
        self.original_dim = original_dim
        self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)
        # Add KL divergence regularization loss.
        kl_loss = -0.5 * tf.reduce_mean(
            z_log_var - tf.square(z_mean) - tf.exp(z_log_var) + 1
        )
        self.add_loss(kl_loss)
        return reconstructed


original_dim = 784
vae = VariationalAutoEncoder(original_dim, 64, 32)


# --- modelscope test metadata (not part of the guide) ---
INPUT_SHAPE = "None,784"          # x_train.reshape(60000, 784)
EXPECTED_PARAMS = None
