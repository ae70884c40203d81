"""``modelscope profile``: every called layer timed, figures consistent with each other and with the
report (traced: the layers + unattributed + overhead = the traced call), the heavy layer ranked
first, fused kernels given to their conv, JSON round-trip, CLI errors. No test asserts a wall time."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from modelscope.model.profile import ProfileReport
from modelscope.render import render
from modelscope.render.fmt import human_bytes

from .conftest import ROOT

pytestmark = pytest.mark.xdist_group("profile")
tf = pytest.mark.tf  # the tests that run a model; the render tests below need no TensorFlow
FAST = {"repeat": 3, "warmup": 1}
HYBRID = ["samples/hybrid_cnn.py", "--input-shape", "None,28,28,1"]


@pytest.fixture(scope="module")
def hybrid() -> ProfileReport:
    import modelscope

    return modelscope.profile("samples/hybrid_cnn.py", "None,28,28,1", batch_size=4, backward=True, timing="isolated",
                              **FAST)  # fmt: skip


@pytest.fixture(scope="module")
def traced() -> ProfileReport:
    """The hybrid CNN (a subclassed model holding two Sequentials), traced, with its gradient."""
    import modelscope

    return modelscope.profile("samples/hybrid_cnn.py", "None,28,28,1", batch_size=4, backward=True, repeat=6,
                              warmup=1)  # fmt: skip


def adds_up(profile: ProfileReport, backward: bool = False) -> None:
    """The traced method's invariants: top-level rows + unattributed + overhead = the traced call;
    a container's time = its own ops' + its children's; each figure's mean within its min-max."""
    call = profile.backward_call if backward else profile.forward_call
    assert call is not None and call.calls <= call.profiled == profile.settings.repeat
    timings = {t.path: (t.backward if backward else t.forward, t.self_backward if backward else t.self_forward)
               for t in profile.layers}  # fmt: skip
    top = sum(t.value for p, (t, _) in timings.items() if profile.report.layer(p).depth == 1)  # type: ignore[union-attr]
    assert top == pytest.approx(call.layers, rel=1e-9, abs=1e-12)
    assert top + call.unattributed + call.overhead == pytest.approx(call.traced.value, rel=1e-9)
    assert call.busy == pytest.approx(call.layers + call.unattributed, rel=1e-9) and call.op_time >= call.busy * 0.999
    for path, (t, own) in timings.items():
        assert t is not None and own is not None and own >= 0
        assert t.min - 1e-12 <= t.mean <= t.max + 1e-12 and t.min <= t.median <= t.max  # type: ignore[operator]
        children = [c.path for c in profile.report.children(path) if c.path in timings]
        assert t.value == pytest.approx(own + sum(timings[c][0].value for c in children), rel=1e-9, abs=1e-12)  # type: ignore[union-attr]


def heavy_model():  # a 4096x4096 Dense among tiny layers
    import keras

    x = keras.Input((4096,))
    y = keras.layers.Dense(8, name="tiny_in")(x)
    y = keras.layers.Dense(4096, name="widen")(y)
    y = keras.layers.Dense(4096, name="heavy")(y)
    y = keras.layers.Dense(4, name="tiny_out")(y)
    return keras.Model(x, keras.layers.Softmax(name="soft")(y))


@tf
def test_every_called_layer_has_a_timing(hybrid: ProfileReport, traced: ProfileReport) -> None:
    for profile in (hybrid, traced):
        called = [l.path for l in profile.report.layers if l.calls]
        assert [t.path for t in profile.layers] == called
        assert set(called) >= {"fe", "fe/conv2d", "fe/max_pooling2d", "classifier", "classifier/dense_1"}
        for t in profile.layers:
            assert 0 <= t.forward.min <= t.forward.median <= t.forward.max
            assert t.calls == profile.report.layer(t.path).calls
        assert profile.settings.batch_size == 4 and not profile.notes
    assert all(t.forward.min > 0 for t in hybrid.layers) and hybrid.settings.method == "isolated"
    assert traced.settings.method == "traced" and traced.forward_call is not None
    assert traced.timing("fe/conv2d").forward.value > 0  # type: ignore[union-attr]


@tf
def test_traced_figures_add_up(traced: ProfileReport) -> None:
    adds_up(traced)
    adds_up(traced, backward=True)
    call = traced.forward_call
    assert call is not None and traced.whole == call.traced.value
    shares = sum(traced.share(t.path) or 0 for t in traced.layers if traced.report.layer(t.path).depth == 1)
    assert shares + (call.unattributed + call.overhead) / call.traced.value == pytest.approx(1.0)
    assert traced.model_forward.median > 0 and traced.model_backward is not None
    assert traced.overhead is None and traced.top_level_net is None  # no empty-call floor: nothing to net out
    for t in traced.layers:  # the forward+gradient call holds the forward ops too
        assert t.backward is not None and t.backward.value >= 0
    table = render(traced, "table").plain
    for line in ("Traced call:", "Traced call fwd+bwd:", "Whole model fwd+bwd:", "method traced", "Method: Traced"):
        assert line in table


@tf
def test_fused_kernels_go_to_the_conv() -> None:
    """Grappler fuses Conv2D+BiasAdd(+Relu) into one kernel named after its last op: a ReLU straight
    after a conv runs nothing of its own; after a BatchNormalization (Keras 3 does not fold it in
    inference) it keeps its own Relu, and the conv still gets its fused bias."""
    import keras

    import modelscope

    x = keras.Input((32, 32, 3))
    y = keras.layers.Conv2D(16, 3, name="conv")(x)
    y = keras.layers.BatchNormalization(name="bn")(y)
    y = keras.layers.ReLU(name="relu")(y)
    y = keras.layers.Conv2D(16, 3, name="conv_b")(y)
    y = keras.layers.ReLU(name="relu_b")(y)
    y = keras.layers.GlobalAveragePooling2D(name="gap")(y)
    model = keras.Model(x, keras.layers.Dense(3, name="out")(y))
    result = modelscope.profile(model, batch_size=4, **FAST)
    adds_up(result)
    called = [l.path for l in result.report.layers if l.calls]
    assert [t.path for t in result.layers] == called and not result.notes
    time = {t.path: t.forward.value for t in result.layers}
    assert time["relu_b"] == 0.0 and time["conv_b"] > 0 and time["conv"] > 0 and time["bn"] > 0
    assert result.forward_call is not None and result.forward_call.unattributed == 0.0


@tf
def test_shares_and_sum_are_consistent(hybrid: ProfileReport) -> None:
    top = [t for t in hybrid.layers if hybrid.report.layer(t.path).depth == 1]
    assert [t.path for t in top] == ["fe", "classifier"]
    whole = hybrid.model_forward.median
    for t in top:
        assert hybrid.share(t.path) == t.forward.median / whole
    assert hybrid.top_level_sum == pytest.approx(sum(t.forward.median for t in top))
    assert sum(hybrid.share(t.path) or 0 for t in top) == pytest.approx(hybrid.top_level_sum / whole)
    assert hybrid.overhead is not None
    net = sum(max(0.0, t.forward.median - hybrid.overhead.median) for t in top)
    assert hybrid.top_level_net == pytest.approx(net) and net < hybrid.top_level_sum
    assert f"{net / whole:.1%} of the whole model" in str(hybrid)  # the footer says it


@tf
def test_output_bytes_are_the_real_outputs(hybrid: ProfileReport) -> None:
    assert hybrid.timing("fe/conv2d").output_bytes == 4 * 28 * 28 * 8 * 4  # batch 4, float32
    assert hybrid.timing("classifier").output_bytes == 4 * 10 * 4


@tf
def test_memory_figures(hybrid: ProfileReport) -> None:
    leaves = [l for l in hybrid.report.layers if l.calls and not hybrid.report.children(l.path)]
    expected = sum(4 * 4 * math.prod(s[1:]) for l in leaves for s in l.output_shapes)  # batch 4, float32
    assert hybrid.activation_bytes == expected == 4 * 4 * (784 * 8 + 196 * 8 + 196 * 32 + 49 * 32 + 1568 + 64 + 10)
    m = hybrid.memory
    assert m is not None and 0 < m.peak_before <= m.peak_after and m.growth == m.peak_after - m.peak_before
    data = json.loads(hybrid.to_json())["memory"]
    assert data["activation_bytes"] == expected and data["process"]["growth"] == m.growth
    table = render(hybrid, "table").plain
    assert f"Memory: activations {human_bytes(expected)} at batch 4" in table and "process peak RSS" in table


@tf
@pytest.mark.parametrize("which", ["hybrid", "traced"])
def test_macs_per_second_from_the_json(which: str, request: pytest.FixtureRequest) -> None:
    data = json.loads(request.getfixturevalue(which).to_json())
    assert data["schema"] == "modelscope.profile/1"
    assert data["method"] == ("isolated" if which == "hybrid" else "traced") and data["method_text"]
    batch = data["settings"]["batch_size"]
    checked = 0
    for row in data["layers"]:
        macs = data["report"]["layers"][[l["path"] for l in data["report"]["layers"]].index(row["path"])]["macs"]
        assert row["macs"] == macs
        if macs:
            assert row["macs_per_second"] == macs * batch / row["forward"].get("mean", row["forward"]["median"])
            checked += 1
    assert checked >= 4  # the convolutions, the dense layers and their containers


@tf
def test_backward_figures(hybrid: ProfileReport) -> None:
    assert hybrid.model_backward is not None and hybrid.model_backward.median > 0
    assert all(t.backward is not None and t.backward.median > 0 for t in hybrid.layers)


@tf
@pytest.mark.parametrize("which", ["hybrid", "traced"])
def test_json_round_trip_and_rendering_without_the_model(which: str, request: pytest.FixtureRequest) -> None:
    profile = request.getfixturevalue(which)
    again = ProfileReport.from_json(profile.to_json())
    assert again.to_json() == profile.to_json()
    assert again == profile
    table = render(again, "table").plain
    summed = "Top-level layers" if which == "hybrid" else "top-level layers"
    for name in ("fe", "conv2d", "max_pooling2d_1", "classifier", "dense_1", "Whole model", summed,
                 "Fwd+bwd (ms)", "Method"):  # fmt: skip
        assert name in table
    if which == "traced":
        adds_up(again)
        data = json.loads(profile.to_json())
        assert data["model"]["traced"]["forward"]["layers"] == profile.forward_call.layers
        assert [row["share"] for row in data["layers"]] == [profile.share(t.path) for t in profile.layers]
    markdown = render(again, "markdown")
    assert "| Layer | Type |" in markdown and "- **Whole model:**" in markdown
    assert render(again, "json") == profile.to_json()
    with pytest.raises(ValueError, match="modelscope.profile/1"):
        ProfileReport.from_json(json.dumps({"schema": "modelscope.report/2"}))


@tf
@pytest.mark.parametrize("timing", ["traced", "isolated"])
def test_the_heavy_layer_ranks_first(timing: str) -> None:
    import modelscope

    result = modelscope.profile(heavy_model(), batch_size=8, timing=timing, **FAST)
    assert result.slowest(1) == ["heavy"] and result.settings.method == timing
    heavy = result.timing("heavy")
    assert heavy is not None and result.macs_per_second("heavy") == 4096 * 4096 * 8 / heavy.forward.value
    assert heavy.forward.value == (heavy.forward.mean if timing == "traced" else heavy.forward.median)
    assert result.timing("soft").output_bytes == 8 * 4 * 4  # type: ignore[union-attr]
    if timing == "traced":
        adds_up(result)


@tf
def test_an_application_model_every_layer_timed() -> None:
    import keras

    import modelscope

    model = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=10)
    result = modelscope.profile(model, batch_size=2, repeat=1, warmup=0)
    called = {l.path for l in result.report.layers if l.calls}
    assert {t.path for t in result.layers} == called and len(called) > 100
    assert result.settings.batch_size == 2
    assert any(l.cls == "ZeroPadding2D" for l in result.report.layers)  # its inner pad op is part of it,
    assert result.notes == ()  # not a row that is "not a layer of the report"


@tf
def test_a_keras_hub_bert_every_called_layer_timed() -> None:
    import keras_hub

    import modelscope

    bert = keras_hub.models.BertBackbone(vocabulary_size=64, num_layers=2, num_heads=2, hidden_dim=16,
                                         intermediate_dim=32, max_sequence_length=16)  # fmt: skip
    shapes = {"token_ids": "None,16", "segment_ids": "None,16", "padding_mask": "None,16"}
    result = modelscope.profile(bert, shapes, "int32", batch_size=2, **FAST)
    called = [l.path for l in result.report.layers if l.calls]
    assert [t.path for t in result.layers] == called and not result.notes
    assert {"transformer_layers[0]", "transformer_layers[1]/_self_attention_layer", "get_item"} <= set(called)
    adds_up(result)
    call = result.forward_call
    assert call is not None and call.unattributed <= 0.02 * call.traced.value  # Grappler's renames mapped back
    assert result.timing("transformer_layers[0]/_self_attention_layer/_query_dense").forward.value > 0  # type: ignore[union-attr]
    top = [t for t in result.layers if result.report.layer(t.path).depth == 1]
    whole = result.whole
    assert all(result.share(t.path) == t.forward.value / whole for t in result.layers)
    assert sum(result.share(t.path) or 0 for t in top) == pytest.approx(result.top_level_sum / whole)
    assert result.timing("pooled_dense").output_bytes == 2 * 16 * 4
    assert result.activation_bytes > 0 and result.settings.batch_size == 2


@tf
def test_mask_inputs_are_ones_token_ids_zeros() -> None:
    from modelscope.model.inputs import InputArg
    from modelscope.trace.profile import random_inputs

    ids, mask, x = random_inputs([InputArg((2, 3), "token_ids", "int32"), InputArg((2, 3), "padding_mask", "int32"),
                                  InputArg((2, 3), "x_mask", "float32")])  # fmt: skip
    assert ids.numpy().tolist() == [[0] * 3] * 2 and mask.numpy().tolist() == [[1] * 3] * 2
    assert x.dtype == "float32"


@tf
def test_sizes_other_than_the_batch_must_be_given() -> None:
    import keras

    import modelscope
    from modelscope.errors import UsageError

    x = keras.Input((None, 8))
    model = keras.Model(x, keras.layers.Dense(2)(x))
    with pytest.raises(UsageError, match="dimension 1 has no size"):
        modelscope.profile(model, **FAST)
    with pytest.raises(UsageError, match="repeat=0"):
        modelscope.profile(model, "None,16,8", repeat=0)


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelscope", "profile", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@tf
@pytest.mark.parametrize("bad", [["--repeat", "0"], ["--warmup", "-1"], ["--batch-size", "0"], ["--format", "csv"],
                                 ["--depth", "0"], ["--timing", "guessed"]])  # fmt: skip
def test_cli_bad_options_are_usage_errors(bad: list[str], cli_env: dict[str, str]) -> None:
    out = run([*HYBRID, *bad], cli_env)
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""


@tf
def test_cli_writes_json_and_markdown(tmp_path: Path, cli_env: dict[str, str]) -> None:
    target = tmp_path / "profile.json"
    out = run([*HYBRID, "--repeat", "2", "--warmup", "0", "--format", "json", "-o", str(target)], cli_env)
    assert out.returncode == 0, out.stderr
    again = ProfileReport.from_json(target.read_text())
    assert again.settings.repeat == 2 and again.timing("fe/conv2d") is not None
    assert again.settings.method == "traced" and again.forward_call is not None
    out = run([*HYBRID, "--repeat", "1", "--warmup", "0", "--format", "markdown", "--depth", "1", "--timing",
               "isolated"], cli_env)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "`fe`" in out.stdout and "`conv2d`" not in out.stdout and "method isolated" in out.stdout


@tf
def test_cli_unknown_size_and_report_source_are_usage_errors(tmp_path: Path, cli_env: dict[str, str]) -> None:
    code = tmp_path / "seq.py"
    code.write_text("import keras\nmodel = keras.Sequential([keras.Input((None, 8)), keras.layers.Dense(2)])\n")
    out = run([str(code), "--repeat", "1"], cli_env)
    assert out.returncode == 2, out.stderr
    assert "dimension 1 has no size" in out.stderr and "--input-shape" in out.stderr
    out = run([str(code), "--input-shape", "None,16,8", "--repeat", "1", "--warmup", "0"], cli_env)
    assert out.returncode == 0 and "dense" in out.stdout, out.stderr
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps({"schema": "modelscope.report/2"}))
    out = run([str(saved), "--repeat", "1"], cli_env)
    assert out.returncode == 2 and "holds no weights" in out.stderr


# -- rendering a hand-built profile: no TensorFlow --------------------------------------------------


def handmade_profile(names: dict[str, str] | None = None) -> ProfileReport:
    """A profile of the hand-made report (tests/handmade.py), ``names`` (of leaves) replacing layer
    names and the last part of their paths (hostile ones; ``/`` becomes ``_`` there), with made-up
    timings: ``block/conv`` is the slowest leaf."""
    from dataclasses import replace

    from modelscope.model.profile import LayerTiming, ProfileSettings, Timing
    from modelscope.model.traced import build_report

    from .handmade import residual_model

    names = names or {}
    traced = residual_model()
    rename = {l.path: (f"{l.parent}/" if l.parent else "") + names[l.path].replace("/", "_") if l.path in names
              else l.path for l in traced.layers}  # fmt: skip
    layers = tuple(replace(l, path=rename[l.path], name=names.get(l.path, l.name),
                           parent=rename.get(l.parent) if l.parent else None) for l in traced.layers)  # fmt: skip
    inputs = tuple(replace(i, consumers=tuple(rename[c] for c in i.consumers)) for i in traced.inputs)
    outputs = tuple(replace(o, producers=tuple(rename[c] for c in o.producers)) for o in traced.outputs)
    report = build_report(replace(traced, layers=layers, edges=(), inputs=inputs, outputs=outputs))
    ms = {"stem": 0.2, "block": 1.5, "block/conv": 1.0, "block/norm": 0.3, "tied": 0.6}
    timings = tuple(
        LayerTiming(rename[p], Timing(t / 1e3, t / 1.2e3, t / 0.8e3), None, 3 if p == "tied" else 1, 4096)
        for p, t in ms.items()
    )
    return ProfileReport(report, timings, Timing(2.0e-3, 1.9e-3, 2.5e-3), None,
                         ProfileSettings(4, 5, 1, False, False, "CPU"), "Timed <somehow> & well.",
                         ("a <note>",), Timing(1e-5, 1e-5, 2e-5))  # fmt: skip


def test_html_follows_the_table() -> None:
    from .htmltree import parse
    from .test_html import check_well_formed, header, rows

    profile = handmade_profile()
    text = profile._repr_html_()
    doc = check_well_formed(text)
    assert header(doc) == ["Layer", "Type", "Output shape", "Time (ms)", "Min–max (ms)", "Share", "MAC/s",
                           "Output bytes"]  # fmt: skip
    body = rows(doc)
    names = [r.cells()[0].text() for r in body]
    assert names == ["stem", "block (residual_block)", "conv", "norm", "tied", "spare"]
    by_name = {r.cells()[0].text(): [c.text() for c in r.cells()] for r in body}
    assert by_name["stem"][3:6] == ["0.200", "0.167–0.250", "10.0%"]
    assert by_name["block (residual_block)"][5] == "75.0%" and by_name["spare"][2] == "not called"
    assert by_name["spare"][3] == ""
    block = [r for r in body if r.cells()[0].text().startswith("block")][0]
    assert block.tag == "summary" and block.parent.tag == "details" and "open" in block.parent.attrs
    conv = [r for r in body if r.cells()[0].text() == "conv"][0]
    assert conv.ancestors("details") and "x" in conv.cells()[0].classes and "x" in conv.cells()[3].classes
    hot = {r.cells()[0].text() for r in body if "x" in r.cells()[0].classes}
    assert profile.slowest(3) == ["block/conv", "tied", "block/norm"] and hot == {"conv", "tied", "norm"}
    foot = doc.find_all("div", "ft")[0].text()
    assert "Whole model: 2.000 ms median" in foot and "Method: Timed <somehow> & well." in foot
    assert "Note: a <note>" in foot and "<somehow>" not in text
    assert doc.find_all("div", "hd")[0].text() == "net<1> (Net, subclassed) · profile"
    assert parse(profile._repr_html_()).text() == doc.text()  # deterministic


def test_html_escapes_hostile_names() -> None:
    from .test_html import check_well_formed, rows

    hostile = {"stem": "<script>alert(1)</script>", "block/conv": "\"&'", "tied": "\x1b[31mred\u202e"}
    profile = handmade_profile(hostile)
    text = profile._repr_html_()
    doc = check_well_formed(text)
    assert "<script" not in text and "\x1b" not in text and "\u202e" not in text
    names = [r.cells()[0].text() for r in rows(doc)]
    assert names[0] == "<script>alert(1)<_script> (<script>alert(1)</script>)" and names[2] == "\"&'"
    assert "\\x1b[31mred\\u202e" in names[4]
    times = {r.cells()[0].text(): r.cells()[3].text() for r in rows(doc)}
    assert times[names[0]] == "0.200" and times["\\x1b[31mred\\u202e"] == "0.600"
    assert "&lt;script&gt;" in text
    for fmt in ("table", "markdown"):  # the text renderers match escaped paths too
        out = str(render(profile, fmt) if fmt == "markdown" else render(profile, fmt).plain)
        assert "\x1b" not in out and "0.600" in out


def test_str_repr_and_rich() -> None:
    import io

    from rich.console import Console

    profile = handmade_profile({"stem": "\x1b[2Jstem"})
    assert repr(profile) == "<ProfileReport net<1> (Net): 5 layers timed, model 2.000 ms at batch 4 on CPU>"
    text = str(profile)
    assert "net<1> (Net, subclassed) — profile" in text.splitlines()[0] and "Whole model:" in text
    assert "\\x1b[2Jstem" in text and "\x1b" not in text
    console = Console(file=io.StringIO(), width=60, color_system=None)
    console.print(profile)
    printed = console.file.getvalue()
    assert "Time (ms)" in printed and max(len(line) for line in printed.splitlines()) <= 60


def test_activation_bytes_count_innermost_layers_once() -> None:
    from dataclasses import replace

    from modelscope.model.profile import ProcessMemory

    profile = handmade_profile()
    assert profile.activation_bytes == 4 * 4096  # stem, block/conv, block/norm, tied: not the block holding two
    assert "activations 16.00 KB at batch 4" in render(profile, "table").plain
    assert "peak RSS not measured" in render(profile, "markdown")
    measured = replace(profile, memory=ProcessMemory(500 * 2**20, 520 * 2**20))
    again = ProfileReport.from_json(measured.to_json())
    assert again == measured and again.memory is not None and again.memory.growth == 20 * 2**20
    assert "up 20.00 MB during the runs" in render(again, "table").plain
    assert json.loads(profile.to_json())["memory"] == {"activation_bytes": 16384, "process": None}


def traced_handmade() -> ProfileReport:
    """The hand-made profile as the traced method would give it: means, own times, the call's account."""
    from dataclasses import replace

    from modelscope.model.profile import Timing, TracedCall

    profile = handmade_profile()
    own = {"stem": 0.2, "block": 0.2, "block/conv": 1.0, "block/norm": 0.3, "tied": 0.6}
    layers = tuple(replace(t, forward=replace(t.forward, mean=t.forward.median), self_forward=own[t.path] / 1e3)
                   for t in profile.layers)  # fmt: skip
    call = TracedCall(Timing(2.4e-3, 2.3e-3, 2.6e-3, 2.5e-3), 2.3e-3, 0.05e-3, 0.15e-3, 2.35e-3, 2.6e-3, 2, 5,
                      (("Sum:Sum", 0.05e-3),))  # fmt: skip
    return replace(profile, layers=layers, settings=replace(profile.settings, method="traced"), overhead=None,
                   forward_call=call)  # fmt: skip


def test_traced_footer_and_json_without_tensorflow() -> None:
    profile = traced_handmade()
    assert profile.whole == 2.5e-3 and profile.share("stem") == pytest.approx(0.2 / 2.5)
    table = render(profile, "table").plain
    assert "Whole model: 2.000 ms median (1.900–2.500) of 5 compiled calls, not profiled" in table
    account = ("Traced call: 2.500 ms mean of 2 of 5 profiled calls, +25.0% vs not profiled = top-level layers "
               "2.300 ms (92.0%) + unattributed ops 0.050 ms + runtime overhead 0.150 ms")  # fmt: skip
    assert account in table
    assert "Parallel ops: ops ran 2.600 ms summed within 2.350 ms" in table and "Sum:Sum 0.050 ms" in table
    assert "Top-level layers" not in table and "method traced" in table
    again = ProfileReport.from_json(profile.to_json())
    assert again == profile and again.to_json() == profile.to_json()
    data = json.loads(profile.to_json())
    assert data["method"] == "traced" and data["model"]["traced"]["backward"] is None
    assert data["layers"][0]["self_forward"] == 0.2e-3 and data["layers"][0]["forward"]["mean"] == 0.2e-3
    assert "Traced call" in profile._repr_html_() and "- **Traced call:**" in render(profile, "markdown")


def test_a_profile_from_before_the_method_field_reads_as_isolated() -> None:
    data = json.loads(handmade_profile().to_json())
    data["method"] = data.pop("method_text")  # how the first files were written: the text under "method"
    del data["model"]["traced"]
    for row in data["layers"]:
        del row["self_forward"], row["self_backward"], row["share"]
    old = ProfileReport.from_dict(data)
    assert old == handmade_profile() and old.settings.method == "isolated" and old.forward_call is None
