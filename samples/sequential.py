"""A Sequential model built with add(), as in the Keras tutorials."""

from keras.layers import Dense
from keras.models import Sequential

model = Sequential()
model.add(Dense(units=10, activation="sigmoid"))
model.add(Dense(units=20, activation="sigmoid"))
