"""TensorFlow guide "Ragged tensors", Keras section (toy LSTM on ragged input), as published.

Source: tensorflow/docs, site/en/guide/ragged_tensor.ipynb
(https://www.tensorflow.org/guide/ragged_tensor), stored version at commit
dd7ab03d41045fe2255ec3b8147d6810b804ff9f, section "TensorFlow APIs / Keras".

Removed: `keras_model.compile(...)`, `keras_model.fit(hashed_words, is_question, epochs=5)` and
`print(keras_model.predict(hashed_words))`. Kept unchanged: the cell's toy data (four
sentences, hashed in-process; nothing is downloaded) and the model.

What it exercises: a Sequential whose input is `tf.keras.layers.Input(shape=[None],
dtype=tf.int64, ragged=True)`: a RAGGED int64 input (Keras 3 accepts `ragged=True` on `Input`
with the TensorFlow backend), Embedding -> LSTM over variable-length rows.
"""

import tensorflow as tf

# Task: predict whether each sentence is a question or not.
sentences = tf.constant(
    ['What makes you think she is a witch?',
     'She turned me into a newt.',
     'A newt?',
     'Well, I got better.'])
is_question = tf.constant([True, False, True, False])

# Preprocess the input strings.
hash_buckets = 1000
words = tf.strings.split(sentences, ' ')
hashed_words = tf.strings.to_hash_bucket_fast(words, hash_buckets)

# Build the Keras model.
keras_model = tf.keras.Sequential([
    tf.keras.layers.Input(shape=[None], dtype=tf.int64, ragged=True),
    tf.keras.layers.Embedding(hash_buckets, 16),
    tf.keras.layers.LSTM(32, use_bias=False),
    tf.keras.layers.Dense(32),
    tf.keras.layers.Activation(tf.nn.relu),
    tf.keras.layers.Dense(1)
])


# --- modelscope test metadata (not part of the guide) ---
INPUT_SHAPE = None                # declared by the ragged Input: (None, None) int64
EXPECTED_PARAMS = None
