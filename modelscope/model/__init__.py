"""The contract, pure data: the report and its JSON, input specifications, shapes, stable paths. No TensorFlow."""
