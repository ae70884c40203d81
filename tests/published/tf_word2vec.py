"""TensorFlow tutorial "word2vec", subclassed `Word2Vec` model, as published.

Source: the tutorial https://www.tensorflow.org/text/tutorials/word2vec (tensorflow/docs
site/en/tutorials/text/word2vec.ipynb). The stored tensorflow/docs snapshot (commit
a68c452e3da63207a8648d704b9c2d4e901fd9b0) still has the older model (`Dot(axes=(3,2))` +
`Flatten`); the current page's model, copied here, was taken from its verbatim reproductions
found through the code search (identical text, including the comment "The dummy axis doesn't
exist in TF2.7+").

Removed: the text download, TextVectorization, skip-gram generation, tf.data, `compile`,
TensorBoard, `fit` and the embedding export.
Changed: none in the model; the constants are the tutorial's own (`vocab_size = 4096`,
`num_ns = 4`, `embedding_dim = 128`).

What it exercises: `call(self, pair)` takes ONE argument that is a `(target, context)` tuple of
two integer tensors; Python control flow on the rank of an input (`if len(target.shape) == 2:
target = tf.squeeze(target, axis=1)`); `Embedding(..., input_length=...)` (an argument Keras 3
deprecated); `tf.einsum` combining the two embeddings (raw op, no layer).
"""

import io
import re
import string
import tqdm

import numpy as np

import tensorflow as tf
from tensorflow.keras import layers

SEED = 42
AUTOTUNE = tf.data.AUTOTUNE

vocab_size = 4096
num_ns = 4


class Word2Vec(tf.keras.Model):
  def __init__(self, vocab_size, embedding_dim):
    super(Word2Vec, self).__init__()
    self.target_embedding = layers.Embedding(vocab_size,
                                      embedding_dim,
                                      input_length=1,
                                      name="w2v_embedding")
    self.context_embedding = layers.Embedding(vocab_size,
                                       embedding_dim,
                                       input_length=num_ns+1)

  def call(self, pair):
    target, context = pair
    # target: (batch, dummy?)  # The dummy axis doesn't exist in TF2.7+
    # context: (batch, context)
    if len(target.shape) == 2:
      target = tf.squeeze(target, axis=1)
    # target: (batch,)
    word_emb = self.target_embedding(target)
    # word_emb: (batch, embed)
    context_emb = self.context_embedding(context)
    # context_emb: (batch, context, embed)
    dots = tf.einsum('be,bce->bc', word_emb, context_emb)
    # dots: (batch, context)
    return dots


embedding_dim = 128
word2vec = Word2Vec(vocab_size, embedding_dim)


# --- modelscope test metadata (not part of the tutorial) ---
# One call argument that is a (target, context) pair: targets (batch,), contexts (batch, num_ns + 1).
INPUT_SHAPE = ["None", "None,5"]
DTYPE = "int64"
EXPECTED_PARAMS = None
