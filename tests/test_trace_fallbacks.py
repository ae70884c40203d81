"""Models a plain symbolic call cannot trace, and failures that must not become crashes.

Expected figures come from Keras itself (count_params, a real call), never from modelscope.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import modelscope
from modelscope.errors import TraceError

from .conftest import ROOT

pytestmark = pytest.mark.tf


def _keras_count(model) -> int:
    return sum(int(w.numpy().size) for w in model.weights)


def _run(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelscope", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


NEEDS_SHAPES = '''
import tensorflow as tf
from tensorflow import keras

class Noisy(keras.Model):
    """call() does arithmetic on the batch size and draws noise of the input's shape."""

    def __init__(self):
        super().__init__()
        self.d1 = keras.layers.Dense(16)
        self.d2 = keras.layers.Dense(4)

    def call(self, x):
        x = self.d1(x)
        halves = int(x.shape[0]) // 1
        x = x + tf.random.normal(shape=x.shape)
        return self.d2(x[:halves])

model = Noisy()
'''

NEEDS_VALUES = '''
import tensorflow as tf
from tensorflow import keras

class ValueDependent(keras.Model):
    def __init__(self):
        super().__init__()
        self.d1 = keras.layers.Dense(16)
        self.d2 = keras.layers.Conv1D(4, 3, padding="same")

    def call(self, x):
        x = self.d1(x)
        k = int(tf.shape(x)[1].numpy())  # needs an actual value
        return self.d2(x[:, :k])

model = ValueDependent()
'''


@pytest.mark.parametrize(("code", "how"), [(NEEDS_SHAPES, "symbolically"), (NEEDS_VALUES, "on real tensors")],
                         ids=["needs-shapes", "needs-values"])
def test_models_needing_concrete_sizes_are_traced_without_inventing_sizes(tmp_path, code, how) -> None:
    import importlib.util

    import keras

    path = tmp_path / "needs_sizes.py"
    path.write_text(code, encoding="utf-8")
    shape = "None,8" if "Noisy" in code else "None,None,8"
    report = modelscope.inspect(str(path), shape)

    spec = importlib.util.spec_from_file_location("needs_sizes_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    real = module.model(keras.random.uniform((3, 8) if "Noisy" in code else (3, 5, 8)))
    assert report.totals.params == _keras_count(module.model) == module.model.count_params()
    # the batch (and any unknown length) stays None; the rest is Keras's own figure
    expected = (None, *real.shape[1:]) if "Noisy" in code else (None, None, real.shape[-1])
    assert report.outputs[0].shape == expected
    d1 = next(layer for layer in report.layers if layer.attr == "d1")
    assert d1.output_shapes == (((None, 16),) if "Noisy" in code else ((None, None, 16),))
    assert any(how in w and "concrete sizes" in w for w in report.warnings)


def test_a_real_shape_mistake_is_still_the_users_error(tmp_path) -> None:
    path = tmp_path / "needs_sizes.py"
    path.write_text(NEEDS_SHAPES.replace("keras.layers.Dense(16)", "keras.layers.Conv2D(16, 3)"), encoding="utf-8")
    with pytest.raises(TraceError, match=r"conv2d.*\(None, 8\)(.|\n)*Check --input-shape"):
        modelscope.inspect(str(path), "None,8")  # a Conv2D given rank-2 input: no size makes it work


CONTAINER = '''
import tensorflow as tf

class CVAE(tf.keras.Model):
    """A container without call(): encode() and decode() use two built Sequentials."""

    def __init__(self, latent_dim=2):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = tf.keras.Sequential([
            tf.keras.layers.InputLayer(shape=(28, 28, 1)),
            tf.keras.layers.Conv2D(filters=8, kernel_size=3, strides=(2, 2), activation="relu"),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(latent_dim + latent_dim),
        ])
        self.decoder = tf.keras.Sequential([
            tf.keras.layers.InputLayer(shape=(latent_dim,)),
            tf.keras.layers.Dense(units=7 * 7 * 4, activation="relu"),
            tf.keras.layers.Reshape(target_shape=(7, 7, 4)),
            tf.keras.layers.Conv2DTranspose(filters=1, kernel_size=3, strides=4, padding="same"),
        ])

    def encode(self, x):
        mean, logvar = tf.split(self.encoder(x), num_or_size_splits=2, axis=1)
        return mean, logvar

    def reparameterize(self, mean, logvar):
        eps = tf.random.normal(shape=mean.shape)
        return eps * tf.exp(logvar * .5) + mean

    def decode(self, z):
        return self.decoder(z)

model = CVAE()
'''


def test_a_container_without_call_shows_its_sub_models(tmp_path, cli_env) -> None:
    path = tmp_path / "cvae.py"
    path.write_text(CONTAINER, encoding="utf-8")
    result = _run(["summary", str(path), "--format", "json"], cli_env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    layers = {layer["path"]: layer for layer in data["layers"]}
    assert [layer["attr"] for layer in data["layers"] if layer["depth"] == 1] == ["encoder", "decoder"]
    assert [i["shape"] for i in data["inputs"]] == [[None, 28, 28, 1], [None, 2]]
    assert [o["shape"] for o in data["outputs"]] == [[None, 4], [None, 28, 28, 1]]
    assert all(layer["calls"] == 1 for layer in layers.values())
    assert any("has no call()" in w for w in data["warnings"])
    # every parameter counted: the figure Keras gives once the parts are built
    import importlib.util

    spec = importlib.util.spec_from_file_location("cvae_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert data["totals"]["params"] == _keras_count(module.model)
    assert data["totals"]["params"] == module.model.encoder.count_params() + module.model.decoder.count_params()


def test_method_traces_a_named_method(tmp_path) -> None:
    path = tmp_path / "cvae.py"
    path.write_text(CONTAINER, encoding="utf-8")
    report = modelscope.inspect(str(path), "None,28,28,1", method="encode")
    assert [o.shape for o in report.outputs] == [(None, 2), (None, 2)]  # tf.split into mean, logvar
    encoder, decoder = (layer for layer in report.layers if layer.depth == 1)
    assert (encoder.attr, encoder.calls, decoder.attr, decoder.calls) == ("encoder", 1, "decoder", 0)  # no decode()
    conv = report.children(encoder.path)[0]
    assert (conv.cls, conv.output_shapes) == ("Conv2D", ((None, 13, 13, 8),))
    assert report.totals.params == encoder.params + decoder.params  # the decoder still counts
    with pytest.raises(modelscope.ModelscopeError, match="no such method.*encode"):
        modelscope.inspect(str(path), "None,28,28,1", method="encoder_typo")


def test_a_layer_whose_settings_cannot_be_read_leaves_a_warning_not_a_crash(keras_fresh) -> None:
    keras = keras_fresh

    class Opaque(keras.layers.Dense):
        def get_config(self):
            raise RuntimeError("this layer keeps its config to itself")

    model = keras.Sequential([keras.Input((4,)), Opaque(3, name="opaque"), keras.layers.Dense(2, name="head")])
    report = modelscope.inspect(model)
    assert report.totals.params == model.count_params()
    assert report.layer("opaque").config == {}
    assert report.layer("head").config["units"] == 2
    assert [w for w in report.warnings if "opaque" in w and "RuntimeError" in w]
    assert json.loads(report.to_json())["warnings"] == list(report.warnings)


def test_config_values_of_any_kind_become_json(keras_fresh) -> None:
    from modelscope.trace import config_value

    keras = keras_fresh
    gelu = "keras_hub>gelu_approximate"
    assert config_value({"class_name": "function", "config": gelu}) == gelu
    assert config_value({"class_name": "ReLU", "config": {"name": "re_lu"}}) == "re_lu"
    assert config_value({"class_name": "Custom", "config": {"a": 1}}) == "Custom"
    assert config_value(keras.activations.gelu) == "gelu"
    assert config_value(float("nan")) == "nan"
    assert config_value((1, (2, 3))) == [1, [2, 3]]
    assert json.dumps(config_value(keras.ops.ones((2,))))  # a tensor: its type name, still JSON


def test_an_empty_layer_name_still_renders(keras_fresh, tmp_path) -> None:
    # TensorFlow's custom-layers tutorial: super(ResnetIdentityBlock, self).__init__(name='')
    keras = keras_fresh

    class Block(keras.Model):
        def __init__(self):
            super().__init__(name="")
            self.conv = keras.layers.Conv2D(2, 1)

        def call(self, x):
            return self.conv(x) + x

    outer = keras.Sequential([keras.Input((4, 4, 2)), Block(), keras.layers.Flatten()], name="")
    report = modelscope.inspect(outer)
    assert [layer.path for layer in report.layers][:2] == ["block", "block/conv"]  # named by its class, attribute
    assert report.layer("block").name == ""  # the Keras name, as it is
    svg = modelscope.graph(report)
    assert ">block<" in svg and ">conv<" in svg


def test_a_bug_in_modelscope_is_never_blamed_on_the_input_shape(keras_fresh, monkeypatch) -> None:
    from modelscope.trace import recorder

    keras = keras_fresh
    inner = keras.Sequential([keras.layers.Dense(3)])
    model = keras.Sequential([keras.Input((4,)), inner])

    def broken(t):
        raise AttributeError("'SparseTensor' object has no attribute 'name'")

    monkeypatch.setattr(recorder, "shape_of", broken)  # our own bookkeeping fails, not the model
    with pytest.raises(recorder.RecordingError, match="SparseTensor") as info:
        modelscope.inspect(model)
    assert not isinstance(info.value, TraceError)  # the CLI reports it as an internal error (exit 3)
