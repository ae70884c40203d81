"""TensorFlow tutorial "Text generation with an RNN", copied as published.

Source: tensorflow/docs, site/en/tutorials/text/text_generation.ipynb
(https://www.tensorflow.org/text/tutorials/text_generation), stored version at commit
3b9fe704cb8f303d81586f3861c388a7c171e3c5.

Removed: the Shakespeare download, the StringLookup vocabulary and tf.data cells, the
try-the-model / training / checkpoint / `OneStep` generation cells.
Changed: one data-derived value. The tutorial builds the model with
`vocab_size=len(ids_from_chars.get_vocabulary())`; the vocabulary comes from the downloaded text
(65 unique characters, printed by the tutorial, plus the StringLookup's `[UNK]`), so it is written
here as the constant 66. `vocab_size = len(vocab)` in the "Build The Model" cell is likewise 65.

What it exercises: `super().__init__(self)` (the model passes ITSELF as a positional argument to
`keras.Model.__init__`, which Keras 2 tolerated); `call(self, inputs, states=None,
return_state=False, training=False)` with Python control flow on optional arguments and
`self.gru.get_initial_state(x)` (Keras 2 took a tensor, Keras 3 takes a batch size); integer
token inputs.
"""

import tensorflow as tf

import numpy as np
import os
import time

# Length of the vocabulary in chars
vocab_size = 65  # len(vocab): 65 unique characters in the tutorial's text

# The embedding dimension
embedding_dim = 256

# Number of RNN units
rnn_units = 1024


class MyModel(tf.keras.Model):
  def __init__(self, vocab_size, embedding_dim, rnn_units):
    super().__init__(self)
    self.embedding = tf.keras.layers.Embedding(vocab_size, embedding_dim)
    self.gru = tf.keras.layers.GRU(rnn_units,
                                   return_sequences=True, 
                                   return_state=True)
    self.dense = tf.keras.layers.Dense(vocab_size)

  def call(self, inputs, states=None, return_state=False, training=False):
    x = inputs
    x = self.embedding(x, training=training)
    if states is None:
      states = self.gru.get_initial_state(x)
    x, states = self.gru(x, initial_state=states, training=training)
    x = self.dense(x, training=training)

    if return_state:
      return x, states
    else: 
      return x


model = MyModel(
    # Be sure the vocabulary size matches the `StringLookup` layers.
    vocab_size=66,  # len(ids_from_chars.get_vocabulary()): 65 characters + '[UNK]'
    embedding_dim=embedding_dim,
    rnn_units=rnn_units)


# --- modelscope test metadata (not part of the tutorial) ---
INPUT_SHAPE = "None,100"          # seq_length = 100 character ids per example
DTYPE = "int64"                   # ids_from_chars yields int64
EXPECTED_PARAMS = None
