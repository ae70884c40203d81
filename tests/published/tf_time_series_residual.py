"""TensorFlow tutorial "Time series forecasting", `ResidualWrapper` around an LSTM, as published.

Source: the tutorial https://www.tensorflow.org/tutorials/structured_data/time_series
(tensorflow/docs site/en/tutorials/structured_data/time_series.ipynb), section "Advanced:
Residual connections". The class and the `residual_lstm` cell are copied from the current page's
text as reproduced verbatim (same comments) in several public copies found through the code
search (e.g. the notebook exports with "# The predicted deltas should start small. Therefore,
initialize the output layer with zeros."); the stored tensorflow/docs snapshot was not read at
this cell.

Removed: data download/processing, `WindowGenerator`, `compile_and_fit(residual_lstm,
wide_window)`, evaluation and plots.
Changed: `num_features = df.shape[1]` is written as its value, 19 (see tf_time_series_feedback.py).

What it exercises: a wrapper model whose ONLY sublayer is stored in an attribute named `model`
(`self.model = model`), a `call(self, inputs, *args, **kwargs)` that forwards `*args/**kwargs`
to the inner Sequential, and a residual made by a raw `inputs + delta`.
"""

import tensorflow as tf

num_features = 19  # df.shape[1] in the tutorial


class ResidualWrapper(tf.keras.Model):
  def __init__(self, model):
    super().__init__()
    self.model = model

  def call(self, inputs, *args, **kwargs):
    delta = self.model(inputs, *args, **kwargs)

    # The prediction for each time step is the input
    # from the previous time step plus the delta
    # calculated by the model.
    return inputs + delta


residual_lstm = ResidualWrapper(
    tf.keras.Sequential([
    tf.keras.layers.LSTM(32, return_sequences=True),
    tf.keras.layers.Dense(
        num_features,
        # The predicted deltas should start small.
        # Therefore, initialize the output layer with zeros.
        kernel_initializer=tf.initializers.zeros())
]))


# --- modelscope test metadata (not part of the tutorial) ---
INPUT_SHAPE = "None,24,19"        # wide_window: input_width=24, 19 features
EXPECTED_PARAMS = None
