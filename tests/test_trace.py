"""The tracer on models that are not in the samples: loops, sharing, residuals, inputs, failures."""

from __future__ import annotations

import pytest

import modelscope
from modelscope.errors import InputSpecError, TraceError

pytestmark = pytest.mark.tf


@pytest.fixture
def models(keras_fresh):
    from tests import models

    return models


def test_loops_sharing_residuals_and_unused_layers(models) -> None:
    model = models.LoopNet()
    r = modelscope.inspect(model, (None, 16))
    assert r.totals.params == model.count_params() == 6182
    assert r.totals.non_trainable == 64  # BatchNormalization's moving statistics
    assert r.layer("shared").calls == 3
    assert r.layer("block0").attr == "blocks[0]" and r.layer("block0/sequential").attr == "inner"  # Keras names
    assert [l.path for l in r.layers] == [
        "stem", "blocks[0]", "blocks[0]/inner", "blocks[0]/inner/dense", "blocks[0]/inner/dense_1", "blocks[0]/norm",
        "blocks[1]", "blocks[1]/inner", "blocks[1]/inner/dense", "blocks[1]/inner/dense_1", "blocks[1]/norm",
        "shared", "bn", "head", "unused",
    ]  # fmt: skip
    edges = {(e.src, e.dst) for e in r.edges}
    assert ("shared", "shared") in edges  # the loop
    assert ("stem", "blocks[0]/norm") in edges  # the residual add, through raw ops
    assert ("blocks[0]/inner/dense_1", "blocks[0]/norm") in edges
    assert ("bn", "head") in edges  # through ops.relu
    unused = r.layer("unused")
    assert (unused.calls, unused.built, unused.name) == (0, False, "dense_5")
    assert [v.path for v in r.variables if v.layer == ""] == ["scale"]
    assert r.outputs[0].producers == ("head",)  # the final multiply is raw ops after the head


def test_keras_is_left_as_it_was(models, keras_fresh) -> None:
    from keras.src.layers.layer import Layer

    before = Layer.__call__
    with pytest.raises(TraceError):
        modelscope.inspect(models.Failing(), (None, 8))
    assert Layer.__call__ is before
    model = models.LoopNet()
    modelscope.inspect(model, (None, 16))
    assert Layer.__call__ is before
    import numpy as np

    y = model(np.ones((2, 16), "float32"))  # the model still works for real
    assert tuple(y.shape) == (2, 3)


def test_failure_names_the_layer_and_its_input_shape(models) -> None:
    with pytest.raises(TraceError) as info:
        modelscope.inspect(models.Failing(), (None, 8))
    message = str(info.value)
    assert "layer 'conv2d' (Conv2D)" in message and "(None, 4)" in message
    assert "expected min_ndim=4" in message


def test_two_separate_arguments(models) -> None:
    r = modelscope.inspect(models.TwoArgs(), ["image=None,4,4,1", "meta=None,3"])
    assert [i.name for i in r.inputs] == ["image", "meta"]
    assert r.layer("flatten").output_shapes == ((None, 16),)
    assert r.outputs[0].shape == (None, 2)
    assert {(e.src, e.dst) for e in r.edges} >= {("flat", "out"), ("meta", "out")}
    positional = modelscope.inspect(models.TwoArgs(), ["None,4,4,1", "None,3"])
    assert positional.outputs[0].shape == (None, 2)


def test_dict_inputs_with_integer_dtype(models) -> None:
    r = modelscope.inspect(models.DictInputs(), {"ids": "None,12", "weights": "None,12"}, {"ids": "int32"})
    assert [(i.name, i.dtype) for i in r.inputs] == [("ids", "int32"), ("weights", "float32")]
    assert r.layer("embedding").input_shapes == ((None, 12),)
    assert r.outputs[0].shape == (None, 8)


def test_none_dimensions_stay_none(keras_fresh) -> None:
    from keras import layers

    model = keras_fresh.Sequential([layers.Conv1D(4, 3, padding="same"), layers.GlobalMaxPooling1D()])
    r = modelscope.inspect(model, "None,None,5")
    assert r.layer("conv1d").output_shapes == ((None, None, 4),)
    assert r.outputs[0].shape == (None, 4)
    assert modelscope.inspect(model, "2,7,5").outputs[0].shape == (2, 4)  # a given batch is kept


def test_nested_functional_in_functional_and_subclassed_block_inside(keras_fresh) -> None:
    from keras import layers

    from tests.models import Residual

    inner_in = keras_fresh.Input((8,))
    inner = keras_fresh.Model(inner_in, layers.Dense(8, name="inner_dense")(inner_in), name="inner")
    x_in = keras_fresh.Input((8,), name="x")
    y = Residual(8, name="res")(inner(x_in))
    model = keras_fresh.Model(x_in, layers.Dense(2, name="out")(y), name="outer")
    r = modelscope.inspect(model)
    assert [l.path for l in r.layers] == [
        "inner", "inner/inner_dense", "res", "res/inner", "res/inner/dense",
        "res/inner/dense_1", "res/norm", "out",
    ]  # fmt: skip
    assert r.totals.params == model.count_params()
    edges = {(e.src, e.dst) for e in r.edges}
    assert ("inner/inner_dense", "res/inner/dense") in edges
    assert ("inner/inner_dense", "res/norm") in edges
    assert ("res/norm", "out") in edges
    assert r.inputs[0].consumers == ("inner", "inner/inner_dense")


def test_mixed_precision_bytes_follow_variable_dtypes(keras_fresh) -> None:
    from keras import layers

    model = keras_fresh.Sequential([layers.Dense(4, name="f32"), layers.Dense(4, dtype="float16", name="f16")])
    r = modelscope.inspect(model, "None,3")
    assert r.layer("f32").bytes == 16 * 4
    assert r.layer("f16").bytes == 20 * 2
    assert r.totals.bytes == 16 * 4 + 20 * 2


def test_frozen_layers_count_as_non_trainable(keras_fresh) -> None:
    from keras import layers

    model = keras_fresh.Sequential([layers.Dense(4), layers.Dense(2)])
    model.build((None, 3))
    model.layers[0].trainable = False
    r = modelscope.inspect(model)
    assert (r.totals.trainable, r.totals.non_trainable) == (10, 16)
    assert (r.layer("dense").trainable, r.layer("dense").non_trainable) == (0, 16)


def test_contradicting_shape_is_refused(keras_fresh) -> None:
    model = keras_fresh.Sequential([keras_fresh.Input((10,)), keras_fresh.layers.Dense(2)])
    with pytest.raises(InputSpecError, match=r"contradicts the model's input .* \(None, 10\)"):
        modelscope.inspect(model, "None,11")


def test_user_build_without_call_is_completed(keras_fresh) -> None:
    class TwoDense(keras_fresh.Model):
        def __init__(self):
            super().__init__()
            self.a = keras_fresh.layers.Dense(5)
            self.b = keras_fresh.layers.Dense(1)

        def call(self, x):
            return self.b(self.a(x))

    net = TwoDense()
    with pytest.warns(UserWarning, match="does not have a `build\\(\\)` method"):
        net.build((None, 4))  # Keras only marks it built: no weights yet
    assert net.count_params() == 0
    r = modelscope.inspect(net)  # the shape given to build() is used
    assert r.inputs[0].shape == (None, 4)
    assert r.totals.params == 25 + 6 == net.count_params()


def test_functional_graph_with_raw_ops(keras_fresh) -> None:
    from keras import layers

    x = keras_fresh.Input((8,), name="x")
    y = x + layers.Dense(8, name="d")(x)  # a raw op in a functional graph: an Operation, not a Layer
    model = keras_fresh.Model(x, layers.Dense(2, name="out")(y))
    r = modelscope.inspect(model)
    ops = [l for l in r.layers if l.cls == "Add"]
    assert len(ops) == 1 and ops[0].params == 0 and ops[0].output_shapes == ((None, 8),)
    assert (ops[0].path, "out") in {(e.src, e.dst) for e in r.edges}
    assert r.totals.params == model.count_params()
