"""Keras-2 SavedModel directories (tf_keras, save_format="tf"), written at test time and traced."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

import modelscope
from modelscope.errors import LoadError, TraceError
from modelscope.model.report import Report
from modelscope.model.traced import build_report

pytestmark = pytest.mark.tf


def _hybrid_class(tf_keras):
    """samples/hybrid_cnn.py in tf_keras. Defined here, never registered: loading revives it."""
    L = tf_keras.layers

    class CNN_Model(tf_keras.Model):
        def __init__(self):
            super().__init__()
            self.fe = tf_keras.Sequential()
            self.fe.add(L.Conv2D(filters=8, kernel_size=5, padding="same", activation="relu"))
            self.fe.add(L.MaxPooling2D(pool_size=2, strides=2))
            self.fe.add(L.Conv2D(filters=32, kernel_size=5, padding="same", activation="relu"))
            self.fe.add(L.MaxPooling2D(pool_size=2, strides=2))
            self.classifier = tf_keras.Sequential()
            self.classifier.add(L.Flatten())
            self.classifier.add(L.Dense(units=64, activation="relu"))
            self.classifier.add(L.Dense(units=10, activation="softmax"))

        def call(self, x):
            return self.classifier(self.fe(x))

    return CNN_Model


def _shared_class(tf_keras):
    """A subclass with a layer called twice, nested subclassed models, a Sequential and an unused layer."""
    L = tf_keras.layers

    class Inner(tf_keras.Model):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.d = L.Dense(8, name="inner_d")
            self.n = L.LayerNormalization(name="inner_ln")

        def call(self, x):
            return self.n(x + self.d(x))

    class Outer(tf_keras.Model):
        def __init__(self):
            super().__init__(name="outer")
            self.stem = L.Dense(8, name="stem")
            self.shared = L.Dense(8, name="shared")
            self.blocks = [Inner(name="blk0"), Inner(name="blk1")]
            self.head = tf_keras.Sequential([L.Dense(4, name="logits"), L.Softmax(name="probs")], name="head")
            self.unused = L.Dense(3, name="unused")

        def call(self, x):
            x = self.shared(self.shared(self.stem(x)))
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    return Outer


@pytest.fixture(scope="session")
def saved(tmp_path_factory) -> dict[str, Path]:
    """The SavedModel directories, each written by tf_keras with fresh layer names."""
    tf_keras = pytest.importorskip("tf_keras")
    L = tf_keras.layers
    root = tmp_path_factory.mktemp("keras2")
    out: dict[str, Path] = {}

    def save(name: str, model) -> None:
        out[name] = root / name
        model.save(out[name], save_format="tf")

    tf_keras.backend.clear_session()
    save("sequential", tf_keras.Sequential([
        L.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu"), L.BatchNormalization(), L.MaxPooling2D(),
        L.Flatten(), L.Dropout(0.2), L.Dense(10, activation="softmax")], name="seq_cnn"))  # fmt: skip

    tf_keras.backend.clear_session()
    x = L.Input((32,), name="features")
    h = L.Dense(32, activation="relu", name="d1")(x)
    s = L.Add(name="res")([h, L.Dense(32, name="d2", trainable=False)(h)])
    save("functional", tf_keras.Model(x, [L.Dense(3, name="cls")(s), L.Dense(1, name="reg")(s)], name="two_heads"))

    for name, make in [("hybrid", _hybrid_class), ("shared", _shared_class)]:
        tf_keras.backend.clear_session()
        model = make(tf_keras)()
        model(tf_keras.Input((28, 28, 1) if name == "hybrid" else (6,)))
        save(name, model)

    tf_keras.backend.clear_session()
    marker = root / "lambda-ran"
    where = str(marker)  # the lambda's closure is saved in its config
    x = L.Input((4,), name="x")
    y = L.Lambda(lambda t: (open(where, "a").close(), t * 2.0)[1], name="twice")(x)
    save("lambda", tf_keras.Model(x, L.Dense(2, name="out")(y), name="lam"))
    marker.unlink()
    out["lambda-marker"] = marker
    return out


def _load(path: Path) -> Report:
    from modelscope.load.keras2_savedmodel import load_keras2_savedmodel

    model, traced = load_keras2_savedmodel(str(path))
    assert [tuple(v.shape) for v in model.weights] == [v.shape for v in traced.variables]  # values line up
    return build_report(traced)


def _rows(report: Report) -> list[tuple]:
    return [(l.path, l.attr, l.cls, l.input_shapes, l.output_shapes, l.params, l.calls) for l in report.layers]


def test_sequential(saved) -> None:
    r = _load(saved["sequential"])
    assert (r.model.name, r.model.cls, r.model.kind) == ("seq_cnn", "Sequential", "sequential")
    assert [(l.path, l.cls, l.output_shapes[0], l.params) for l in r.layers] == [
        ("conv2d", "Conv2D", (None, 26, 26, 8), 80),
        ("batch_normalization", "BatchNormalization", (None, 26, 26, 8), 32),
        ("max_pooling2d", "MaxPooling2D", (None, 13, 13, 8), 0),
        ("flatten", "Flatten", (None, 1352), 0),
        ("dropout", "Dropout", (None, 1352), 0),
        ("dense", "Dense", (None, 10), 13530),
    ]
    assert (r.totals.params, r.totals.non_trainable) == (13642, 16)
    assert [(i.shape, i.dtype, i.consumers) for i in r.inputs] == [((None, 28, 28, 1), "float32", ("conv2d",))]
    assert ("flatten", "dropout") in {(e.src, e.dst) for e in r.edges}
    assert Report.from_json(r.to_json()) == r


def test_functional_with_residual_add_and_two_outputs(saved) -> None:
    r = _load(saved["functional"])
    assert (r.model.kind, r.totals.params, r.totals.non_trainable) == ("functional", 2244, 1056)  # d2 is frozen
    assert r.layer("res").input_shapes == ((None, 32), (None, 32))
    assert {(e.src, e.dst) for e in r.edges} == {("d1", "d2"), ("d1", "res"), ("d2", "res"), ("res", "cls"),
                                                 ("res", "reg")}  # fmt: skip
    assert [(o.name, o.shape, o.producers) for o in r.outputs] == [("cls", (None, 3), ("cls",)),
                                                                   ("reg", (None, 1), ("reg",))]  # fmt: skip
    assert [(i.name, i.shape) for i in r.inputs] == [("features", (None, 32))]


def test_hybrid_is_revived_and_shows_its_blocks(saved) -> None:
    from modelscope.load.keras2_savedmodel import load_keras2_savedmodel

    model, traced = load_keras2_savedmodel(str(saved["hybrid"]))
    assert type(model).__module__.endswith("saved_model.load")  # CNN_Model revived, no Python code run
    r = build_report(traced)
    assert (r.model.cls, r.model.kind, r.totals.params) == ("CNN_Model", "hybrid", 107706)
    assert [(l.path, l.attr, l.output_shapes[0], l.params) for l in r.layers] == [
        ("fe", "fe", (None, 7, 7, 32), 6640),
        ("fe/conv2d", None, (None, 28, 28, 8), 208),
        ("fe/max_pooling2d", None, (None, 14, 14, 8), 0),
        ("fe/conv2d_1", None, (None, 14, 14, 32), 6432),
        ("fe/max_pooling2d_1", None, (None, 7, 7, 32), 0),
        ("classifier", "classifier", (None, 10), 101066),
        ("classifier/flatten", None, (None, 1568), 0),
        ("classifier/dense", None, (None, 64), 100416),
        ("classifier/dense_1", None, (None, 10), 650),
    ]
    expected = [l.name for b in (model.fe, model.classifier) for l in b.layers]  # the Keras names, kept
    assert [l.name for l in r.layers if l.depth == 2] == expected
    assert [(i.shape, i.consumers) for i in r.inputs] == [((None, 28, 28, 1), ("fe", "fe/conv2d"))]
    assert r.outputs[0].producers == ("classifier/dense_1",)


def test_hybrid_report_equals_the_keras3_one(saved, keras_fresh) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))
    try:
        from hybrid_cnn import CNN_Model
    finally:
        sys.path.pop(0)
    k2, k3 = _load(saved["hybrid"]), modelscope.inspect(CNN_Model(), (None, 28, 28, 1))
    assert _rows(k2) == _rows(k3)
    assert sorted(k2.edges, key=repr) == sorted(k3.edges, key=repr)
    no_cost = {"macs": None, "flops": None, "activation_bytes": None}  # not computed for Keras 2 models yet
    assert (k2.inputs, k2.outputs, k2.totals) == (k3.inputs, k3.outputs, replace(k3.totals, **no_cost))
    assert [v.path for v in k2.variables] == [v.path for v in k3.variables]


def test_revived_calls_shared_layers_and_unused_ones(saved) -> None:
    r = _load(saved["shared"])
    assert (r.model.cls, r.model.kind, r.totals.params) == ("Outer", "hybrid", 340)
    assert (r.layer("shared").calls, r.layer("shared").params) == (2, 72)
    assert [c.output_shapes for c in r.calls if c.layer == "shared"] == [((None, 8),), ((None, 8),)]
    assert r.layer("blk1").attr == "blocks[1]" and r.layer("blk1/inner_ln").params == 16
    assert r.layer("head/probs").output_shapes == ((None, 4),)
    assert (r.layer("unused").calls, r.layer("unused").params) == (0, 0)
    edges = {(e.src, e.dst) for e in r.edges}
    assert r.layer("blk0/inner_ln").path == "blocks[0]/n"  # a Keras path finds the stable one
    assert {("shared", "shared"), ("shared", "blocks[0]/n"), ("blocks[1]/n", "head/logits")} <= edges


def test_a_lambda_runs_its_saved_graph_not_the_pickled_code(saved) -> None:
    r = _load(saved["lambda"])
    assert not saved["lambda-marker"].exists()
    assert (r.layer("twice").cls, r.layer("twice").output_shapes, r.totals.params) == ("Lambda", ((None, 4),), 10)


def test_layer_call_is_restored_even_when_tracing_fails(saved, monkeypatch) -> None:
    import tensorflow as tf
    import tf_keras

    from modelscope.trace import keras2

    before = tf_keras.layers.Layer.__call__
    _load(saved["hybrid"])
    assert tf_keras.layers.Layer.__call__ is before
    monkeypatch.setattr(keras2, "_input_specs", lambda m: ((tf.TensorSpec((None, 5), tf.float32),), ["x"]))
    with pytest.raises(TraceError, match="Running the model failed.*incompatible"):
        _load(saved["sequential"])
    assert tf_keras.layers.Layer.__call__ is before


def test_damaged_or_foreign_directories(saved, tmp_path) -> None:
    import shutil

    with pytest.raises(LoadError, match="not a directory"):
        _load(tmp_path / "missing")
    with pytest.raises(LoadError, match="keras_metadata.pb are needed"):
        _load(tmp_path)
    for name, damage in [("keras_metadata.pb", "keras_metadata.pb is damaged"),
                         ("saved_model.pb", "saved_model.pb is damaged"),
                         ("variables", "could not load")]:  # fmt: skip
        broken = shutil.copytree(saved["sequential"], tmp_path / name.replace(".", "_"))
        if name == "variables":
            shutil.rmtree(broken / name)
        else:
            (broken / name).write_bytes(b"\x08garbage")
        with pytest.raises(LoadError, match=damage):
            _load(broken)


def test_missing_tf_keras_says_how_to_install_it(saved, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "tf_keras", None)
    with pytest.raises(LoadError, match=r"pip install 'keras-modelscope\[legacy\]'"):
        _load(saved["sequential"])


BLOCKED = """import importlib.abc, importlib.util, sys
HIDDEN = ("tf_keras", "tensorflow", "keras")
class Hide(importlib.abc.MetaPathFinder):  # as if none of them were installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Hide())
found = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in HIDDEN else found(name, *a)
from modelscope.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    assert e.code in (0, None), e.code
assert not any(m.split(".")[0] in HIDDEN for m in sys.modules), "imported TensorFlow or Keras"
"""


@pytest.mark.parametrize("name", ["sequential", "functional", "hybrid", "shared", "lambda"])
def test_read_without_tf_keras_as_tf_keras_builds_it(name: str, saved: dict, cli_env: dict, tmp_path: Path) -> None:
    """Without tf_keras (and without TensorFlow): the Keras tree from keras_metadata.pb and the
    checkpoint read as data, the same counts, classes and variables as tf_keras loading it."""
    import subprocess

    full = modelscope.inspect(saved[name])
    (tmp_path / "blocked.py").write_text(BLOCKED)
    done = subprocess.run([sys.executable, "blocked.py", "summary", str(saved[name]), "--format", "json"],
                          cwd=tmp_path, env=cli_env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    free = Report.from_json(done.stdout)
    assert (free.totals.params, free.totals.trainable) == (full.totals.params, full.totals.trainable)
    assert "tf_keras is not installed" in free.warnings[0]
    assert sorted((l.name, l.cls, l.params) for l in free.layers) == sorted((l.name, l.cls, l.params)
                                                                            for l in full.layers)  # fmt: skip
    assert sorted(v.path for v in free.variables) == sorted(v.path for v in full.variables)
    assert not saved["lambda-marker"].exists()


def test_stats_without_tf_keras_are_tf_keras_values(saved: dict) -> None:
    import numpy as np

    full = modelscope.stats(saved["hybrid"], spectral=False)
    free = modelscope.stats(saved["hybrid"], spectral=False, no_code=True)
    assert free.report.warnings[0].startswith("read without the model's code (--no-code)")
    ours = {v.info.path: v.moments for v in free.variables}
    assert set(ours) == {v.info.path for v in full.variables}
    for v in full.variables:
        assert np.isclose(ours[v.info.path].mean, v.moments.mean) and np.isclose(ours[v.info.path].std, v.moments.std)
