"""keras.applications architectures (weights=None, nothing downloaded) against Keras's published counts."""

from __future__ import annotations

import pytest

import modelscope

pytestmark = pytest.mark.tf

# Parameter counts from the Keras applications table (include_top=True, 1000 classes).
PUBLISHED = {
    "ResNet50": 25_636_712,
    "MobileNetV2": 3_538_984,
    "EfficientNetB0": 5_330_571,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_parameter_counts(keras_fresh, name: str) -> None:
    model = getattr(keras_fresh.applications, name)(weights=None)
    report = modelscope.inspect(model)
    assert report.totals.params == PUBLISHED[name] == model.count_params()
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert report.totals.trainable == trainable
    assert report.totals.non_trainable == PUBLISHED[name] - trainable > 0  # BatchNorm statistics
    assert report.inputs[0].shape == (None, 224, 224, 3)
    assert report.outputs[0].shape == (None, 1000)
    # every layer Keras lists is in the report (input layers are the report's inputs)
    keras_names = {l.name for l in model.layers if type(l).__name__ != "InputLayer"}
    assert keras_names == {l.name for l in report.layers}
    assert sum(l.params for l in report.layers) == report.totals.params


def test_new_input_size_propagates_and_batch_stays_none(keras_fresh) -> None:
    model = keras_fresh.applications.MobileNetV2(weights=None, include_top=False, input_shape=(None, None, 3))
    report = modelscope.inspect(model, "None,96,128,3")
    assert report.outputs[0].shape == (None, 3, 4, 1280)
    assert all(s[0] is None for l in report.layers for s in l.output_shapes if s)
