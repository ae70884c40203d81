"""TensorFlow tutorial "Time series forecasting", autoregressive `FeedBack` model, as published.

Source: tensorflow/docs, site/en/tutorials/structured_data/time_series.ipynb
(https://www.tensorflow.org/tutorials/structured_data/time_series), stored version at commit
a68c452e3da63207a8648d704b9c2d4e901fd9b0, section "Advanced: Autoregressive model".

Removed: the Jena climate download, feature engineering, `WindowGenerator`, the other models,
`compile_and_fit` and every call that needs `multi_window` data (`feedback_model.warmup(...)`,
the test-run print, training and plots).
Changed: two values the tutorial derives from its data are written as constants:
`num_features = df.shape[1]` is 19 (14 CSV columns - "Date Time" popped - wv/max. wv/wd replaced
by Wx/Wy/max Wx/max Wy + Day/Year sin/cos) and `OUT_STEPS = 24` (set in the tutorial).

What it exercises: the class is defined in three cells: `__init__` first, then the instance
`feedback_model` is created, and only AFTER that `FeedBack.warmup = warmup` and
`FeedBack.call = call` are monkey-patched onto the class. `call` runs a Python `for` loop over
`self.out_steps`, calls an `LSTMCell` directly (`self.lstm_cell(x, states=state, training=...)`)
on top of the same cell wrapped in `RNN(..., return_state=True)` (one cell, two callers), and
stacks a Python list with `tf.stack` + `tf.transpose`.
"""

import tensorflow as tf

import numpy as np

OUT_STEPS = 24
num_features = 19  # df.shape[1] in the tutorial


class FeedBack(tf.keras.Model):
  def __init__(self, units, out_steps):
    super().__init__()
    self.out_steps = out_steps
    self.units = units
    self.lstm_cell = tf.keras.layers.LSTMCell(units)
    # Also wrap the LSTMCell in an RNN to simplify the `warmup` method.
    self.lstm_rnn = tf.keras.layers.RNN(self.lstm_cell, return_state=True)
    self.dense = tf.keras.layers.Dense(num_features)

feedback_model = FeedBack(units=32, out_steps=OUT_STEPS)

def warmup(self, inputs):
  # inputs.shape => (batch, time, features)
  # x.shape => (batch, lstm_units)
  x, *state = self.lstm_rnn(inputs)

  # predictions.shape => (batch, features)
  prediction = self.dense(x)
  return prediction, state

FeedBack.warmup = warmup

def call(self, inputs, training=None):
  # Use a TensorArray to capture dynamically unrolled outputs.
  predictions = []
  # Initialize the lstm state
  prediction, state = self.warmup(inputs)

  # Insert the first prediction
  predictions.append(prediction)

  # Run the rest of the prediction steps
  for n in range(1, self.out_steps):
    # Use the last prediction as input.
    x = prediction
    # Execute one lstm step.
    x, state = self.lstm_cell(x, states=state,
                              training=training)
    # Convert the lstm output to a prediction.
    prediction = self.dense(x)
    # Add the prediction to the output
    predictions.append(prediction)

  # predictions.shape => (time, batch, features)
  predictions = tf.stack(predictions)
  # predictions.shape => (batch, time, features)
  predictions = tf.transpose(predictions, [1, 0, 2])
  return predictions

FeedBack.call = call


# --- modelscope test metadata (not part of the tutorial) ---
INPUT_SHAPE = "None,24,19"        # multi_window: input_width=24, 19 features
EXPECTED_PARAMS = None
