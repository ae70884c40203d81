"""Keras example "Variational AutoEncoder" (Keras 3 version), copied as published.

Source: keras-team/keras-io, examples/generative/vae.py (https://keras.io/examples/generative/vae/),
header "Date created: 2020/05/03, Last modified: 2024/04/24". Copied from the example's rendered
page examples/generative/md/vae.md (the code of the Keras 3 vae.py: `keras.ops`,
`keras.random.SeedGenerator`); the stored vae.py snapshots (cca4efba8e0b8514ae3817931696294039b3bfc9,
09e02e17d5cbf21ecf8a47f10d91587f963fc80a) are the older tf.keras version.

Removed: `encoder.summary()`, `decoder.summary()`, the MNIST download, `vae.compile`/`vae.fit`
and the two plotting sections. Kept unchanged: the setup (including
`os.environ["KERAS_BACKEND"] = "tensorflow"`), `Sampling`, the functional encoder and decoder,
`VAE`, and `vae = VAE(encoder, decoder)` from the training cell.

What it exercises: a `keras.Model` subclass with a custom `train_step` (GradientTape) and a
`metrics` property, and NO `call()`; its encoder/decoder are functional models with declared
inputs. The encoder has a custom `Sampling` layer using `keras.ops` and
`keras.random.normal(..., seed=SeedGenerator)` (a SeedGenerator holds a non-trainable
state variable). The module holds three models (`encoder`, `decoder`, `vae`).
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np
import tensorflow as tf
import keras
from keras import ops
from keras import layers


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


latent_dim = 2

encoder_inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Flatten()(x)
x = layers.Dense(16, activation="relu")(x)
z_mean = layers.Dense(latent_dim, name="z_mean")(x)
z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
z = Sampling()([z_mean, z_log_var])
encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")

latent_inputs = keras.Input(shape=(latent_dim,))
x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
x = layers.Reshape((7, 7, 64))(x)
x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(
            name="reconstruction_loss"
        )
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [
            self.total_loss_tracker,
            self.reconstruction_loss_tracker,
            self.kl_loss_tracker,
        ]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = ops.mean(
                ops.sum(
                    keras.losses.binary_crossentropy(data, reconstruction),
                    axis=(1, 2),
                )
            )
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {
            "loss": self.total_loss_tracker.result(),
            "reconstruction_loss": self.reconstruction_loss_tracker.result(),
            "kl_loss": self.kl_loss_tracker.result(),
        }


vae = VAE(encoder, decoder)


# --- modelscope test metadata (not part of the example) ---
OBJECT = "vae"                    # the file also holds `encoder` and `decoder` (both functional)
INPUT_SHAPE = "None,28,28,1"      # what train_step feeds the encoder; VAE has no call()
EXPECTED_PARAMS = None
