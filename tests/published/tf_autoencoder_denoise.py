"""TensorFlow tutorial "Intro to Autoencoders", second example (image denoising), as published.

Source: tensorflow/docs, site/en/tutorials/generative/autoencoder.ipynb
(https://www.tensorflow.org/tutorials/generative/autoencoder), stored version at commit
38360b018d53aa93b43f8b94c81a137e6e08c35e.

Removed: the data download, noise generation, `compile`, `fit`, `encoder.summary()` /
`decoder.summary()` and plotting cells. Imports: the tutorial's import cell minus
pandas/matplotlib/sklearn (data and plotting only).

What it exercises: a subclass with a no-argument constructor (so the CLASS is also a candidate,
hidden by the module-level instance of it) whose encoder Sequential starts with
`layers.Input(shape=(28, 28, 1))` (built at construction) while the decoder Sequential has no
input and is built only by the call.
"""

import numpy as np
import tensorflow as tf

from tensorflow.keras import layers, losses
from tensorflow.keras.datasets import fashion_mnist
from tensorflow.keras.models import Model


class Denoise(Model):
  def __init__(self):
    super(Denoise, self).__init__()
    self.encoder = tf.keras.Sequential([
      layers.Input(shape=(28, 28, 1)), 
      layers.Conv2D(16, (3,3), activation='relu', padding='same', strides=2),
      layers.Conv2D(8, (3,3), activation='relu', padding='same', strides=2)])
    
    self.decoder = tf.keras.Sequential([
      layers.Conv2DTranspose(8, kernel_size=3, strides=2, activation='relu', padding='same'),
      layers.Conv2DTranspose(16, kernel_size=3, strides=2, activation='relu', padding='same'),
      layers.Conv2D(1, kernel_size=(3,3), activation='sigmoid', padding='same')])
    
  def call(self, x):
    encoded = self.encoder(x)
    decoded = self.decoder(encoded)
    return decoded

autoencoder = Denoise()


# --- modelscope test metadata (not part of the tutorial) ---
INPUT_SHAPE = "None,28,28,1"
EXPECTED_PARAMS = None
