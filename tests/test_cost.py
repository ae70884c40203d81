"""MACs, FLOPs and memory: published figures, formulas checked by hand, custom layers' own ops
counted from their graph, TensorFlow's profiler as a second opinion, and the renderers."""

from __future__ import annotations

import json

import pytest

import modelscope
from modelscope.analysis.memory import training_memory
from modelscope.render.fmt import metric

pytestmark = pytest.mark.tf

# Published multiply-accumulates at 224x224 (papers / Keras docs); ours must be within 3%.
PUBLISHED = {"MobileNetV2": 300e6, "MobileNet": 569e6, "VGG16": 15.5e9, "ResNet50": 3.9e9}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_figures_within_3_percent(name: str, keras_fresh) -> None:
    report = modelscope.inspect(getattr(keras_fresh.applications, name)(weights=None))
    assert report.totals.uncounted == ()
    assert report.totals.macs == pytest.approx(PUBLISHED[name], rel=0.03)
    data = json.loads(report.to_json())
    assert data["totals"]["macs"] == report.totals.macs
    top = [l for l in data["layers"] if l["depth"] == 1]
    assert sum(l["macs"] for l in top) == report.totals.macs  # layers add up to the total


def _layer(report, cls: str):
    return next(l for l in report.layers if l.cls == cls)


def test_dense_and_conv_by_hand(keras_fresh) -> None:
    L = keras_fresh.layers
    x = keras_fresh.Input((9, 9, 3))
    y = L.Conv2D(4, 3, activation="relu")(x)  # 7x7x4 outputs, 27 MACs each
    y = L.DepthwiseConv2D(3)(y)  # 5x5x4 outputs, 9 MACs each
    y = L.SeparableConv2D(6, 3, use_bias=False)(y)  # 3x3: depthwise 9*4*9 + pointwise 9*4*6
    y = L.Dense(5)(L.Flatten()(y))  # 54 -> 5
    t = L.Conv2DTranspose(2, 3)(x)  # each of 9x9x3 inputs meets the 3x3x2 kernel
    r = modelscope.inspect(keras_fresh.Model(x, [y, t]))
    assert _layer(r, "Conv2DTranspose").macs == 9 * 9 * 3 * 9 * 2
    assert _layer(r, "Conv2D").macs == 7 * 7 * 4 * 27
    assert _layer(r, "Conv2D").flops == 2 * 7 * 7 * 4 * 27 + 7 * 7 * 4 * 2  # + bias + relu
    assert _layer(r, "DepthwiseConv2D").macs == 5 * 5 * 4 * 9
    assert _layer(r, "SeparableConv2D").macs == 9 * 4 * 9 + 9 * 4 * 6
    assert _layer(r, "Dense").macs == 54 * 5
    assert _layer(r, "Flatten").macs == 0
    assert r.totals.activation_bytes == 4 * (7 * 7 * 4 + 5 * 5 * 4 + 3 * 3 * 6 + 54 + 5 + 11 * 11 * 2)


def test_recurrent_and_attention_layers(keras_fresh) -> None:
    L = keras_fresh.layers
    seq = keras_fresh.Input((10, 8))
    lstm = L.LSTM(16, return_sequences=True)(seq)
    gru = L.Bidirectional(L.GRU(4))(lstm)
    q, v = keras_fresh.Input((5, 8)), keras_fresh.Input((6, 8))
    mha = L.MultiHeadAttention(num_heads=2, key_dim=4)(q, v)
    att = L.Attention()([q, v])
    r = modelscope.inspect(keras_fresh.Model([seq, q, v], [gru, mha, att]))
    assert _layer(r, "LSTM").macs == 10 * 4 * 16 * (8 + 16)
    assert _layer(r, "Bidirectional").macs == 2 * 10 * 3 * 4 * (16 + 4)
    # projections q 5*8*2*4, k and v 6*8*2*4 each; scores + weighted sum 2*5*6*(4+4); output 5*2*4*8
    assert _layer(r, "MultiHeadAttention").macs == 320 + 384 + 384 + 480 + 320
    assert _layer(r, "Attention").macs == 5 * 6 * 8 * 2
    assert r.totals.uncounted == ()


def _custom_layers(keras):
    from keras import ops

    class Bilinear(keras.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1], 16))

        def call(self, x):
            return ops.matmul(x, self.w) * 2.0

    class Mixer(keras.layers.Layer):
        """A container that multiplies matrices itself around a sublayer."""

        def __init__(self, **kw):
            super().__init__(**kw)
            self.inner = keras.layers.Dense(8)

        def call(self, x):
            return ops.einsum("btd,bsd->bts", x, self.inner(x))

    return Bilinear, Mixer


def test_custom_layers_count_their_own_matrix_products(keras_fresh) -> None:
    Bilinear, Mixer = _custom_layers(keras_fresh)
    x = keras_fresh.Input((4, 8))
    r = modelscope.inspect(keras_fresh.Model(x, Mixer()(Bilinear()(x)[..., :8])))
    bilinear = _layer(r, "Bilinear")
    assert bilinear.macs == 4 * 8 * 16 and "MatMul" in bilinear.cost_note
    assert bilinear.flops == 2 * 4 * 8 * 16 + 4 * 16  # + the element-wise * 2.0
    mixer = _layer(r, "Mixer")
    assert mixer.macs == 4 * 8 * 8 + 4 * 4 * 8  # its Dense (counted once) + its own einsum
    assert r.totals.macs == bilinear.macs + mixer.macs and r.totals.uncounted == ()


def test_unknown_cost_is_marked_not_zero(keras_fresh) -> None:
    Bilinear, _ = _custom_layers(keras_fresh)
    x = keras_fresh.Input((None, 8))  # the number of rows is unknown: so is the product's cost
    r = modelscope.inspect(keras_fresh.Model(x, Bilinear(name="bil")(x)))
    assert _layer(r, "Bilinear").macs is None and "unknown" in _layer(r, "Bilinear").cost_note
    assert r.totals.uncounted == ("bil",)
    from modelscope.render.table import render_table

    text = render_table(r).plain
    assert "not counted (cost unknown): bil" in text and " ? " in text


def _profiler_macs(keras, model, shape) -> int:
    """Multiply-accumulates by TensorFlow's own profiler: its float ops of matrix products and
    convolutions, halved."""
    import tensorflow as tf

    fn = tf.function(lambda x: model(x, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec((1, *shape), tf.float32)).graph
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    result = tf.compat.v1.profiler.profile(graph, cmd="op", options=opts)
    kinds = {"MatMul", "BatchMatMulV2", "Conv2D", "DepthwiseConv2dNative"}
    total, todo = 0, list(result.children)
    while todo:  # the "op" view nests each row under the previous one
        node = todo.pop()
        total += node.float_ops if node.name in kinds else 0
        todo += node.children
    return total // 2


@pytest.mark.parametrize("name", ["MobileNet", "ResNet50"])
def test_agrees_with_tensorflow_profiler(name: str, keras_fresh) -> None:
    model = getattr(keras_fresh.applications, name)(weights=None, input_shape=(96, 96, 3))
    ours = modelscope.inspect(model)
    linear = sum(l.macs for l in ours.layers if l.cls in ("Conv2D", "DepthwiseConv2D", "Dense"))
    assert linear == _profiler_macs(keras_fresh, model, (96, 96, 3))
    assert ours.totals.macs == linear  # the rest (BN, ReLU, Add, pooling) are FLOPs, not MACs


def test_parameter_bytes_by_dtype_under_mixed_precision(keras_fresh) -> None:
    from modelscope.render.table import render_table

    x = keras_fresh.Input((8,))
    y = keras_fresh.layers.Dense(4, dtype="mixed_float16")(x)
    y = keras_fresh.layers.Dense(2, dtype="float16")(y)
    r = modelscope.inspect(keras_fresh.Model(x, y))
    assert r.bytes_by_dtype == {"float32": (8 * 4 + 4) * 4, "float16": (4 * 2 + 2) * 2}
    assert "Parameter bytes by dtype: float32 144.00 B, float16 20.00 B" in render_table(r).plain


def test_summary_columns_footer_and_training_memory(keras_fresh) -> None:
    from modelscope.render.markdown import render_markdown
    from modelscope.render.table import TableOptions, render_table

    x = keras_fresh.Input((16,))
    r = modelscope.inspect(keras_fresh.Model(x, keras_fresh.layers.Dense(4)(keras_fresh.layers.Dense(8)(x))))
    text = render_table(r).plain
    assert "MACs" in text.splitlines()[1] and "Act. memory" in text.splitlines()[1]
    assert f"Compute: {metric(160, 'MACs')} / sample ({metric(2 * 160 + 12, 'FLOPs')})" in text
    assert "MACs" not in render_table(r, TableOptions(macs=False)).plain
    assert render_table(r, TableOptions(columns=("params",))).plain.splitlines()[1].split() == ["Layer", "Params"]
    assert "| MACs |" in render_markdown(r) and "**Compute:**" in render_markdown(r)
    m = training_memory(r, 32, "adam")
    params = (16 * 8 + 8 + 8 * 4 + 4) * 4
    assert (m.params, m.gradients, m.optimizer_state, m.activations) == (params, params, 2 * params, 32 * (8 + 4) * 4)
    assert m.total == 4 * params + 32 * 48
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'"):
        training_memory(r, 1, "adamm")


def test_cli_training_memory_columns_and_graph_labels(tmp_path, cli_env) -> None:
    import subprocess
    import sys

    from .conftest import SAMPLES

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "modelscope", *args], cwd=tmp_path, env=cli_env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    sample = str(SAMPLES / "hybrid_cnn.py")
    bad = run("summary", sample, "--batch-size", "8", "--optimizer", "adamm")
    assert bad.returncode == 2 and "--optimizer adamm: unknown" in bad.stderr
    bad = run("summary", sample, "--columns", "params,flops")
    assert bad.returncode == 2 and "--columns params,flops: unknown flops" in bad.stderr
    ok = run("summary", sample, "--input-shape", "None,28,28,1", "--batch-size", "32", "--no-macs")
    assert ok.returncode == 0, ok.stderr
    assert "Training memory: 3.76 MB at batch 32 with adam = params 420.73 KB + gradients 420.73 KB + adam state " \
           "841.45 KB + activations 2.11 MB" in ok.stdout  # fmt: skip
    assert "MACs" not in ok.stdout
    dot = modelscope.graph(sample, (None, 28, 28, 1), format="dot", macs=True)
    assert "1.254 MMACs" in dot and "156.8 KMACs" in dot
