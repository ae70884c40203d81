"""The bundled samples, traced for real: exact shapes, parameter counts, trees and golden output."""

from __future__ import annotations

import pytest

import modelscope
from modelscope.render.markdown import render_markdown
from modelscope.render.table import render_table

from .conftest import SAMPLES

pytestmark = pytest.mark.tf


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch) -> None:
    monkeypatch.chdir(SAMPLES.parent)  # reports name their source as given: samples/...


def _inspect(keras, name: str, shape=None):
    return modelscope.inspect(f"samples/{name}", input_shape=shape)


def test_hybrid_cnn_tree_shapes_and_params(keras_fresh) -> None:
    r = _inspect(keras_fresh, "hybrid_cnn.py", (None, 28, 28, 1))
    assert r.model.cls == "CNN_Model" and r.model.kind == "hybrid"
    rows = [(l.path, l.attr, l.cls, l.output_shapes, l.params) for l in r.layers]
    assert rows == [
        ("fe", "fe", "Sequential", ((None, 7, 7, 32),), 6640),
        ("fe/conv2d", None, "Conv2D", ((None, 28, 28, 8),), 208),
        ("fe/max_pooling2d", None, "MaxPooling2D", ((None, 14, 14, 8),), 0),
        ("fe/conv2d_1", None, "Conv2D", ((None, 14, 14, 32),), 6432),
        ("fe/max_pooling2d_1", None, "MaxPooling2D", ((None, 7, 7, 32),), 0),
        ("classifier", "classifier", "Sequential", ((None, 10),), 101066),
        ("classifier/flatten", None, "Flatten", ((None, 1568),), 0),
        ("classifier/dense", None, "Dense", ((None, 64),), 100416),
        ("classifier/dense_1", None, "Dense", ((None, 10),), 650),
    ]
    assert (r.totals.params, r.totals.trainable, r.totals.non_trainable) == (107706, 107706, 0)
    assert r.totals.bytes == 107706 * 4
    assert all(l.calls == 1 for l in r.layers)  # the symbolic build calls are not counted
    assert r.layer("fe/conv2d").input_shapes == ((None, 28, 28, 1),)
    assert r.inputs[0].shape == (None, 28, 28, 1) and r.outputs[0].shape == (None, 10)
    assert r.inputs[0].consumers == ("fe", "fe/conv2d")
    assert r.outputs[0].producers == ("classifier/dense_1",)
    assert ("fe/max_pooling2d_1", "classifier/flatten") in {(e.src, e.dst) for e in r.edges}


def test_hybrid_cnn_golden_table_json_markdown(keras_fresh, golden) -> None:
    r = _inspect(keras_fresh, "hybrid_cnn.py", "None,28,28,1")
    golden("hybrid_cnn.txt", render_table(r).plain)
    golden("hybrid_cnn.json", r.to_json())
    golden("hybrid_cnn.md", render_markdown(r))


def test_sequential_sample(keras_fresh, golden) -> None:
    r = _inspect(keras_fresh, "sequential.py", "None,10")
    assert r.model.kind == "sequential"
    assert [(l.name, l.output_shapes, l.params) for l in r.layers] == [
        ("dense", ((None, 10),), 110),
        ("dense_1", ((None, 20),), 220),
    ]
    assert r.totals.params == 330
    golden("sequential.txt", render_table(r).plain)


def test_subclassed_sample(keras_fresh, golden) -> None:
    r = _inspect(keras_fresh, "subclassed.py", "None,10")
    assert r.model.kind == "subclassed"
    assert [(l.attr, l.output_shapes, l.params) for l in r.layers] == [
        ("dense1", ((None, 10),), 110),
        ("dense2", ((None, 20),), 220),
    ]
    golden("subclassed.txt", render_table(r).plain)


def test_functional_two_inputs_two_outputs(keras_fresh, golden) -> None:
    r = _inspect(keras_fresh, "functional_two_heads.py")  # the model declares its inputs
    assert [(i.name, i.shape, i.dtype) for i in r.inputs] == [
        ("image", (None, 32, 32, 3), "float32"),
        ("tokens", (None, 16), "int32"),
    ]
    assert [(o.name, o.shape, o.producers) for o in r.outputs] == [
        ("label", (None, 5), ("label",)),
        ("score", (None, 1), ("score",)),
    ]
    assert r.layer("merge").input_shapes == ((None, 16), (None, 32))
    edges = {(e.src, e.dst) for e in r.edges}
    assert {("pool", "merge"), ("text_pool", "merge"), ("hidden", "label"), ("hidden", "score")} <= edges
    assert r.totals.params == 448 + 32000 + 3136 + 325 + 65
    golden("functional_two_heads.txt", render_table(r).plain)


def test_totals_equal_keras_count_for_every_sample(keras_fresh) -> None:
    from modelscope.load import load_model, parse_source

    for name, shape in [("hybrid_cnn.py", "None,28,28,1"), ("sequential.py", "None,10"),
                        ("subclassed.py", "None,10"), ("functional_two_heads.py", None)]:  # fmt: skip
        model = load_model(parse_source(str(SAMPLES / name)))
        r = modelscope.inspect(model, shape)
        assert r.totals.params == model.count_params(), name
        assert r.totals.trainable == sum(int(w.numpy().size) for w in model.trainable_weights), name
