"""Reading generic SavedModels (Keras 3 ``model.export()``, ``tf.saved_model.save``) without running them."""

from __future__ import annotations

import importlib.util
import subprocess
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

import modelscope
from modelscope.errors import UsageError
from modelscope.load.savedmodel import SavedModelContents, read_savedmodel
from modelscope.model.report import Edge
from modelscope.model.traced import TracedModel, build_report

pytestmark = pytest.mark.tf
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _keras():
    from modelscope._keras import import_keras

    keras = import_keras()
    keras.backend.clear_session()  # the layer names below assume fresh name counters
    return keras


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory: pytest.TempPathFactory):
    keras = _keras()
    spec = importlib.util.spec_from_file_location("hybrid_cnn_sample", SAMPLES / "hybrid_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.CNN_Model()
    model(keras.Input((28, 28, 1)))
    path = tmp_path_factory.mktemp("hybrid") / "export"
    model.export(str(path), verbose=False)
    return model, path


@pytest.fixture(scope="module")
def mobilenet(tmp_path_factory: pytest.TempPathFactory):
    keras = _keras()
    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))
    path = tmp_path_factory.mktemp("mobilenet") / "export"
    model.export(str(path), verbose=False)
    return model, path


@pytest.fixture(scope="module")
def plain_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _keras()
    import tensorflow as tf

    class Block(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(tf.ones((3, 4)), name="w")
            self.b = tf.Variable(tf.zeros((4,)), name="b", trainable=False)

    class Top(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = Block()

        @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32, name="x")])
        def __call__(self, x):
            return {"y": tf.matmul(x, self.block.w) + self.block.b}

    top = Top()
    path = tmp_path_factory.mktemp("plain") / "saved"
    tf.saved_model.save(top, str(path), signatures={"serving_default": top.__call__})
    return path


def _check_keys(contents: SavedModelContents, path: Path) -> None:
    import tensorflow as tf

    shapes = tf.train.load_checkpoint(str(path / "variables" / "variables")).get_variable_to_shape_map()
    assert len(contents.checkpoint_keys) == len(contents.traced.variables)
    for key, variable in zip(contents.checkpoint_keys, contents.traced.variables):
        assert key in shapes, key
        assert tuple(shapes[key]) == variable.shape, key


def test_hybrid_export_totals_and_tree(hybrid) -> None:
    model, path = hybrid
    contents = read_savedmodel(str(path), label="export")
    report = build_report(contents.traced)
    assert report.model.kind == "savedmodel" and report.model.name == model.name == "cnn__model"
    assert report.totals.params == model.count_params() == 107_706
    assert report.totals.trainable == 107_706
    assert {l.path: l.params for l in report.layers} == {
        "sequential": 6_640,
        "sequential/conv2d": 208,
        "sequential/max_pooling2d": 0,
        "sequential/conv2d_1": 6_432,
        "sequential/max_pooling2d_1": 0,
        "sequential_1": 101_066,
        "sequential_1/flatten": 0,
        "sequential_1/dense": 100_416,
        "sequential_1/dense_1": 650,
    }
    assert [l.path for l in report.layers][:2] == ["sequential", "sequential/conv2d"]  # parents first, call order
    assert (model.fe.name, model.classifier.name) == ("sequential", "sequential_1")
    assert model.fe.count_params() == 6_640 and model.classifier.count_params() == 101_066
    conv = report.layer("sequential/conv2d")
    assert (conv.cls, conv.depth, conv.parent) == ("Conv2D", 2, "sequential")
    assert conv.input_shapes == ((None, 28, 28, 1),) and conv.output_shapes == ((None, 28, 28, 8),)
    assert report.layer("sequential_1/flatten").output_shapes == ((None, 1568),)
    assert report.layer("sequential_1").output_shapes == ((None, 10),)
    assert [v.path for v in report.variables][:2] == ["sequential/conv2d/kernel", "sequential/conv2d/bias"]

    assert {s.name for s in contents.signatures} == {"serve", "serving_default"}
    (inp,) = report.inputs
    assert (inp.shape, inp.dtype) == ((None, 28, 28, 1), "float32")
    (out,) = report.outputs
    assert (out.shape, out.dtype) == ((None, 10), "float32")
    _check_keys(contents, path)


def test_mobilenet_export_matches_the_model(mobilenet) -> None:
    model, path = mobilenet
    contents = read_savedmodel(str(path))
    report = build_report(contents.traced)
    assert report.totals.params == model.count_params() == 3_538_984
    non_trainable = sum(int(w.numpy().size) for w in model.non_trainable_weights)
    assert report.totals.non_trainable == non_trainable
    assert [l.path for l in report.layers] == [l.name for l in model.layers[1:]]  # all but the InputLayer
    for layer in model.layers[1:]:
        assert report.layer(layer.name).params == layer.count_params(), layer.name
        assert report.layer(layer.name).output_shapes == (tuple(layer.output.shape),), layer.name
    assert report.inputs[0].shape == (None, 96, 96, 3)
    _check_keys(contents, path)


def test_plain_module_tree_from_the_object_graph(plain_module: Path) -> None:
    contents = read_savedmodel(str(plain_module))
    report = build_report(contents.traced)
    assert (report.totals.params, report.totals.trainable) == (16, 12)
    assert [(l.path, l.attr, l.params) for l in report.layers] == [("block", "block", 16)]
    assert [(v.path, v.layer, v.trainable) for v in report.variables] == [
        ("block/w", "block", True),
        ("block/b", "block", False),
    ]
    assert contents.checkpoint_keys == ("block/w/.ATTRIBUTES/VARIABLE_VALUE", "block/b/.ATTRIBUTES/VARIABLE_VALUE")
    (sig,) = contents.signatures
    assert sig.name == "serving_default"
    assert [(i.name, i.shape, i.dtype) for i in sig.inputs] == [("x", (None, 3), "float32")]
    assert [(o.name, o.shape) for o in sig.outputs] == [("y", (None, 4))]
    _check_keys(contents, plain_module)


def test_a_shared_layer_is_one_layer_called_twice(tmp_path: Path) -> None:
    keras = _keras()
    inputs = keras.Input((4,))
    shared = keras.layers.Dense(3, name="shared")
    x = keras.layers.Add(name="plus")([shared(inputs), shared(keras.layers.Dense(4, name="pre")(inputs))])
    model = keras.Model(inputs, x, name="siamese")
    model.export(str(tmp_path / "export"), verbose=False)
    report = build_report(read_savedmodel(str(tmp_path / "export")).traced)
    assert [(l.path, l.params, l.calls) for l in report.layers] == [("pre", 20, 1), ("shared", 15, 2), ("plus", 0, 1)]
    assert [c.index for c in report.calls] == [0, 1]
    assert report.totals.params == model.count_params()
    assert [(e.src, e.src_call, e.dst, e.dst_call) for e in report.call_edges] == [
        ("", 0, "shared", 0), ("pre", 0, "shared", 1), ("shared", 0, "plus", 0), ("shared", 1, "plus", 0),
    ]  # fmt: skip
    _same_flow(read_savedmodel(str(tmp_path / "export")).traced, modelscope.inspect(model))


def _same_flow(traced: TracedModel, live: modelscope.Report) -> None:
    """The data flow read from an export is the live trace's (edges, call edges, consumers, producers).
    An export knows the Keras names only, so the live report's stable paths are put back into Keras's."""
    keras: dict[str, str] = {"": ""}
    for layer in live.layers:
        parent = keras.get(layer.parent or "", "")
        keras[layer.path] = f"{parent}/{layer.name}" if parent else layer.name

    def k(items):
        return tuple(keras[p] for p in items)

    live_edges = {replace(e, src=keras[e.src], dst=keras[e.dst]) for e in live.edges}
    live_calls = {replace(e, src=keras[e.src], dst=keras[e.dst]) for e in live.call_edges}
    assert set(traced.edges) == live_edges
    assert len(set(traced.edges)) == len(traced.edges)
    assert set(traced.call_edges) == live_calls
    for mine, theirs in zip(traced.inputs, live.inputs, strict=True):
        assert (mine.consumers, mine.ops_consumers) == (k(theirs.consumers), k(theirs.ops_consumers))
    assert [o.producers for o in traced.outputs] == [k(o.producers) for o in live.outputs]


@pytest.mark.tf
def test_hybrid_export_edges_are_the_live_chain(hybrid) -> None:
    model, path = hybrid
    traced = read_savedmodel(str(path)).traced
    assert [(e.src, e.dst) for e in traced.edges if not e.dst.startswith("sequential_1")] == [
        ("sequential/conv2d", "sequential/max_pooling2d"),
        ("sequential/max_pooling2d", "sequential/conv2d_1"),
        ("sequential/conv2d_1", "sequential/max_pooling2d_1"),
    ]
    assert ("sequential_1/flatten", "sequential_1/dense") in [(e.src, e.dst) for e in traced.edges]
    assert traced.inputs[0].consumers == ("sequential", "sequential/conv2d")
    assert traced.outputs[0].producers == ("sequential_1/dense_1",)
    _same_flow(traced, modelscope.inspect(model, (None, 28, 28, 1)))
    assert read_savedmodel(str(path)).traced.edges == traced.edges  # deterministic


@pytest.mark.tf
def test_functional_residual_edges_match_the_live_model(tmp_path: Path) -> None:
    keras, layers = _keras(), _keras().layers
    inputs = keras.Input((16, 16, 3))
    x = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(8, 3, padding="same")(inputs)))
    y = layers.BatchNormalization()(layers.Conv2D(8, 3, padding="same")(x))
    x = layers.Dense(4)(layers.GlobalAveragePooling2D()(layers.ReLU()(layers.Add()([x, y]))))
    model = keras.Model(inputs, x, name="small_resnet")
    model.export(str(tmp_path / "export"), verbose=False)
    traced = read_savedmodel(str(tmp_path / "export")).traced
    assert {e.src for e in traced.edges if e.dst == "add"} == {"re_lu", "batch_normalization_1"}
    _same_flow(traced, modelscope.inspect(model))


@pytest.mark.tf
def test_mobilenet_export_edges_match_the_live_model(mobilenet) -> None:
    model, path = mobilenet
    traced = read_savedmodel(str(path)).traced
    assert len(traced.edges) == 164
    assert {e.src for e in traced.edges if e.dst == "block_2_add"} == {"block_1_project_BN", "block_2_project_BN"}
    _same_flow(traced, modelscope.inspect(model))


@pytest.mark.tf
def test_container_own_ops_and_a_shared_block(tmp_path: Path) -> None:
    keras = _keras()
    layers = keras.layers

    class Block(layers.Layer):  # returns x + f(x): its own ops feed its output
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            self.conv, self.bn = layers.Conv2D(4, 3, padding="same"), layers.BatchNormalization()

        def call(self, x):
            return x + self.bn(self.conv(x))

    class Net(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.stem, self.block = layers.Conv2D(4, 1), Block()
            self.gap, self.head = layers.GlobalAveragePooling2D(), layers.Dense(2)

        def call(self, x):
            x = self.stem(x)
            y = self.block(x)
            return self.head(self.gap(y + self.block(y)))  # the block twice, and an add in the model itself

    model = Net()
    model(keras.Input((8, 8, 3)))
    model.export(str(tmp_path / "export"), verbose=False)
    traced = read_savedmodel(str(tmp_path / "export")).traced
    block, bn = model.block.name, f"{model.block.name}/{model.block.bn.name}"
    assert Edge(bn, block, ops=True) in traced.edges and Edge(block, model.gap.name) in traced.edges
    assert [(e.src_call, e.dst_call) for e in traced.call_edges if (e.src, e.dst, e.ops) == (block, block, False)] == [
        (0, 1)
    ]
    _same_flow(traced, modelscope.inspect(model, (None, 8, 8, 3)))


def test_unknown_signature_names_the_known_ones(hybrid) -> None:
    with pytest.raises(UsageError, match="serve, serving_default"):
        read_savedmodel(str(hybrid[1]), signature="predict")
    assert read_savedmodel(str(hybrid[1]), signature="serve").traced.inputs[0].shape == (None, 28, 28, 1)


def test_reading_does_not_import_tensorflow(hybrid, python: str, cli_env: dict[str, str]) -> None:
    code = textwrap.dedent(f"""
        import sys
        from modelscope.load.savedmodel import read_savedmodel
        contents = read_savedmodel({str(hybrid[1])!r})
        assert not any(m == "tensorflow" or m.startswith("tensorflow.") for m in sys.modules), "tensorflow imported"
        import tensorflow as tf  # still imports normally afterwards
        reader = tf.train.load_checkpoint({str(hybrid[1] / "variables" / "variables")!r})
        print(sum(reader.get_tensor(k).size for k in contents.checkpoint_keys))
    """)
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, env=cli_env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "107706"
