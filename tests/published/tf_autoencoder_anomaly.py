"""TensorFlow tutorial "Intro to Autoencoders", third example (ECG anomaly detection), as published.

Source: tensorflow/docs, site/en/tutorials/generative/autoencoder.ipynb
(https://www.tensorflow.org/tutorials/generative/autoencoder), stored version at commit
38360b018d53aa93b43f8b94c81a137e6e08c35e.

Removed: the ECG5000 CSV download (pandas), normalisation, `compile`, `fit`, threshold
computation, plotting, and the `predict`/`print_stats` helpers (they need the data and
sklearn). Kept unchanged: the model cell. Imports: the tutorial's import cell minus
pandas/matplotlib/sklearn.

What it exercises: a subclass of two Dense-only Sequentials without inputs; the input is a flat
140-sample ECG, so the whole model is built by the trace from `(None, 140)`.
"""

import numpy as np
import tensorflow as tf

from tensorflow.keras import layers, losses
from tensorflow.keras.datasets import fashion_mnist
from tensorflow.keras.models import Model


class AnomalyDetector(Model):
  def __init__(self):
    super(AnomalyDetector, self).__init__()
    self.encoder = tf.keras.Sequential([
      layers.Dense(32, activation="relu"),
      layers.Dense(16, activation="relu"),
      layers.Dense(8, activation="relu")])
    
    self.decoder = tf.keras.Sequential([
      layers.Dense(16, activation="relu"),
      layers.Dense(32, activation="relu"),
      layers.Dense(140, activation="sigmoid")])
    
  def call(self, x):
    encoded = self.encoder(x)
    decoded = self.decoder(encoded)
    return decoded

autoencoder = AnomalyDetector()


# --- modelscope test metadata (not part of the tutorial) ---
INPUT_SHAPE = "None,140"          # ECG5000: 140 data points per example
EXPECTED_PARAMS = None
