"""``modelscope profile``: every called layer timed, figures consistent with each other and with the
report, the heavy layer ranked first, JSON round-trip, CLI errors. No test asserts a wall time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelscope.model.profile import ProfileReport

from .conftest import ROOT

pytestmark = [pytest.mark.tf, pytest.mark.xdist_group("profile")]
FAST = {"repeat": 3, "warmup": 1}
HYBRID = ["samples/hybrid_cnn.py", "--input-shape", "None,28,28,1"]


@pytest.fixture(scope="module")
def hybrid() -> ProfileReport:
    import modelscope

    return modelscope.profile("samples/hybrid_cnn.py", "None,28,28,1", batch_size=4, backward=True, **FAST)


def heavy_model():  # a 4096x4096 Dense among tiny layers
    import keras

    x = keras.Input((4096,))
    y = keras.layers.Dense(8, name="tiny_in")(x)
    y = keras.layers.Dense(4096, name="widen")(y)
    y = keras.layers.Dense(4096, name="heavy")(y)
    y = keras.layers.Dense(4, name="tiny_out")(y)
    return keras.Model(x, keras.layers.Softmax(name="soft")(y))


def test_every_called_layer_has_a_timing(hybrid: ProfileReport) -> None:
    called = [l.path for l in hybrid.report.layers if l.calls]
    assert [t.path for t in hybrid.layers] == called
    assert set(called) >= {"fe", "fe/conv2d", "fe/max_pooling2d", "classifier", "classifier/dense_1"}
    for t in hybrid.layers:
        assert 0 < t.forward.min <= t.forward.median <= t.forward.max
        assert t.calls == hybrid.report.layer(t.path).calls
    assert hybrid.settings.batch_size == 4 and hybrid.settings.repeat == 3 and not hybrid.notes


def test_shares_and_sum_are_consistent(hybrid: ProfileReport) -> None:
    top = [t for t in hybrid.layers if hybrid.report.layer(t.path).depth == 1]
    assert [t.path for t in top] == ["fe", "classifier"]
    whole = hybrid.model_forward.median
    for t in top:
        assert hybrid.share(t.path) == t.forward.median / whole
    assert hybrid.top_level_sum == pytest.approx(sum(t.forward.median for t in top))
    assert sum(hybrid.share(t.path) or 0 for t in top) == pytest.approx(hybrid.top_level_sum / whole)


def test_output_bytes_are_the_real_outputs(hybrid: ProfileReport) -> None:
    assert hybrid.timing("fe/conv2d").output_bytes == 4 * 28 * 28 * 8 * 4  # batch 4, float32
    assert hybrid.timing("classifier").output_bytes == 4 * 10 * 4


def test_macs_per_second_from_the_json(hybrid: ProfileReport) -> None:
    data = json.loads(hybrid.to_json())
    assert data["schema"] == "modelscope.profile/1"
    batch = data["settings"]["batch_size"]
    checked = 0
    for row in data["layers"]:
        macs = data["report"]["layers"][[l["path"] for l in data["report"]["layers"]].index(row["path"])]["macs"]
        assert row["macs"] == macs
        if macs:
            assert row["macs_per_second"] == macs * batch / row["forward"]["median"]
            checked += 1
    assert checked >= 4  # the convolutions, the dense layers and their containers


def test_backward_figures(hybrid: ProfileReport) -> None:
    assert hybrid.model_backward is not None and hybrid.model_backward.median > 0
    assert all(t.backward is not None and t.backward.median > 0 for t in hybrid.layers)


def test_json_round_trip_and_rendering_without_the_model(hybrid: ProfileReport) -> None:
    from modelscope.render import render

    again = ProfileReport.from_json(hybrid.to_json())
    assert again.to_json() == hybrid.to_json()
    assert again == hybrid
    table = render(again, "table").plain
    for name in ("fe", "conv2d", "max_pooling2d_1", "classifier", "dense_1", "Whole model", "Top-level layers",
                 "Fwd+bwd (ms)", "Method"):  # fmt: skip
        assert name in table
    markdown = render(again, "markdown")
    assert "| Layer | Type |" in markdown and "- **Whole model:**" in markdown
    assert render(again, "json") == hybrid.to_json()
    with pytest.raises(ValueError, match="modelscope.profile/1"):
        ProfileReport.from_json(json.dumps({"schema": "modelscope.report/2"}))


def test_the_heavy_layer_ranks_first() -> None:
    import modelscope

    result = modelscope.profile(heavy_model(), batch_size=8, **FAST)
    assert result.slowest(1) == ["heavy"]
    assert result.macs_per_second("heavy") == 4096 * 4096 * 8 / result.timing("heavy").forward.median
    assert result.timing("soft").output_bytes == 8 * 4 * 4


def test_an_application_model_every_layer_timed() -> None:
    import keras

    import modelscope

    model = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=10)
    result = modelscope.profile(model, batch_size=2, repeat=1, warmup=0)
    called = {l.path for l in result.report.layers if l.calls}
    assert {t.path for t in result.layers} == called and len(called) > 100
    assert result.settings.batch_size == 2


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


@pytest.mark.parametrize(
    "bad", [["--repeat", "0"], ["--warmup", "-1"], ["--batch-size", "0"], ["--format", "csv"], ["--depth", "0"]]
)
def test_cli_bad_options_are_usage_errors(bad: list[str], cli_env: dict[str, str]) -> None:
    out = run([*HYBRID, *bad], cli_env)
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""


def test_cli_writes_json_and_markdown(tmp_path: Path, cli_env: dict[str, str]) -> None:
    target = tmp_path / "profile.json"
    out = run([*HYBRID, "--repeat", "2", "--warmup", "0", "--format", "json", "-o", str(target)], cli_env)
    assert out.returncode == 0, out.stderr
    again = ProfileReport.from_json(target.read_text())
    assert again.settings.repeat == 2 and again.timing("fe/conv2d") is not None
    out = run([*HYBRID, "--repeat", "1", "--warmup", "0", "--format", "markdown", "--depth", "1"], cli_env)
    assert out.returncode == 0, out.stderr
    assert "`fe`" in out.stdout and "`conv2d`" not in out.stdout


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
