"""TensorFlow tutorial "Intro to Autoencoders", first example (basic autoencoder), as published.

Source: tensorflow/docs, site/en/tutorials/generative/autoencoder.ipynb
(https://www.tensorflow.org/tutorials/generative/autoencoder), stored version at commit
38360b018d53aa93b43f8b94c81a137e6e08c35e. (The page published today has
`Autoencoder(latent_dim, shape)` with `self.shape = shape` and
`layers.Dense(tf.math.reduce_prod(shape).numpy(), ...)`; that version is not in the stored
repository, so the stored one is copied here.)

Removed: the Fashion-MNIST download/preprocessing, `compile`, `fit`, the encode/decode of the test
set and the plotting. The tutorial's other two models (`Denoise`, `AnomalyDetector`) are in
tf_autoencoder_denoise.py and tf_autoencoder_anomaly.py (in the notebook all three are assigned to
the same name `autoencoder`). Imports: the tutorial's import cell, minus pandas/matplotlib/sklearn
which only the data and plotting cells use.

What it exercises: a subclassed model holding two Sequentials without inputs
(`Flatten` -> `Dense(64)`; `Dense(784)` -> `Reshape((28, 28))`), built only by the trace.
"""

import numpy as np
import tensorflow as tf

from tensorflow.keras import layers, losses
from tensorflow.keras.datasets import fashion_mnist
from tensorflow.keras.models import Model

latent_dim = 64 

class Autoencoder(Model):
  def __init__(self, latent_dim):
    super(Autoencoder, self).__init__()
    self.latent_dim = latent_dim   
    self.encoder = tf.keras.Sequential([
      layers.Flatten(),
      layers.Dense(latent_dim, activation='relu'),
    ])
    self.decoder = tf.keras.Sequential([
      layers.Dense(784, activation='sigmoid'),
      layers.Reshape((28, 28))
    ])

  def call(self, x):
    encoded = self.encoder(x)
    decoded = self.decoder(encoded)
    return decoded
  
autoencoder = Autoencoder(latent_dim) 


# --- modelscope test metadata (not part of the tutorial) ---
INPUT_SHAPE = "None,28,28"        # Fashion-MNIST images, x_train.shape[1:] == (28, 28)
EXPECTED_PARAMS = None
