"""TensorFlow tutorial "Data augmentation": preprocessing-layer model and the custom
`RandomInvert` layer, as published.

Source: the tutorial https://www.tensorflow.org/tutorials/images/data_augmentation
(tensorflow/docs site/en/tutorials/images/data_augmentation.ipynb). Code cells copied from a
rendering of the current notebook found through the code search (the stored tensorflow/docs
snapshot 4c49f5a7e14dfa1fb198e96ae883a0ae112aa94d is an older revision).

Removed: the tf_flowers download (tensorflow_datasets), image display, the dataset `prepare`
pipeline, the "Train a model" Sequential with compile/fit/evaluate, the `tf.image` sections.
Kept unchanged: `IMG_SIZE`, `resize_and_rescale`, `data_augmentation`, the "Option 1" `model`,
`random_invert_img`, the `random_invert` Lambda layer and the `RandomInvert` layer. Imports:
the tutorial's setup cell minus matplotlib and tensorflow_datasets (plotting/data only).
ADDED (not in the tutorial, marked below): `invert_model`, a two-line use of `RandomInvert`
"as described in option 1 above", which is what the tutorial tells the reader to do with it
("Both of these layers can be used as described in options 1 and 2 above").

What it exercises: `model` nests two input-less Sequentials (`resize_and_rescale`,
`data_augmentation`) inside a third, with preprocessing layers (Resizing, Rescaling,
RandomFlip, RandomRotation) that accept any image size. `RandomInvert.call` runs
`random_invert_img`, whose `if tf.random.uniform([]) < p:` is a Python `if` on a TENSOR: it only
works eagerly on concrete tensors (`RandomInvert()(image)` as in the tutorial). Inside a
Sequential, Keras 3 builds the model symbolically first, so `invert_model` cannot be built or
called at all (OperatorNotAllowedInGraphError from RandomInvert.call).
"""

import numpy as np
import tensorflow as tf

from tensorflow.keras import layers

IMG_SIZE = 180

resize_and_rescale = tf.keras.Sequential([
  layers.Resizing(IMG_SIZE, IMG_SIZE),
  layers.Rescaling(1./255)
])

data_augmentation = tf.keras.Sequential([
  layers.RandomFlip("horizontal_and_vertical"),
  layers.RandomRotation(0.2),
])

model = tf.keras.Sequential([
  # Add the preprocessing layers you created earlier.
  resize_and_rescale,
  data_augmentation,
  layers.Conv2D(16, 3, padding='same', activation='relu'),
  layers.MaxPooling2D(),
  # Rest of your model.
])

def random_invert_img(x, p=0.5):
  if  tf.random.uniform([]) < p:
    x = (255-x)
  else:
    x
  return x

def random_invert(factor=0.5):
  return layers.Lambda(lambda x: random_invert_img(x, factor))

random_invert = random_invert()

class RandomInvert(layers.Layer):
  def __init__(self, factor=0.5, **kwargs):
    super().__init__(**kwargs)
    self.factor = factor

  def call(self, x):
    return random_invert_img(x)


# --- ADDED, not in the tutorial: RandomInvert used "as described in option 1" ---
invert_model = tf.keras.Sequential([
  RandomInvert(),
  layers.Conv2D(16, 3, padding='same', activation='relu'),
  layers.MaxPooling2D(),
])


# --- modelscope test metadata (not part of the tutorial) ---
OBJECT = "invert_model"           # the file also holds the published option-1 `model` (same input)
INPUT_SHAPE = "None,180,180,3"
EXPECTED_PARAMS = None
