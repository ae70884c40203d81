"""modelscope diff: identical models, one changed Dense, auto-names in another order, checkpoints
with one layer perturbed, saved report JSON against a live model, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from modelscope.analysis.diff import architecture_diff
from modelscope.api import diff
from modelscope.model.report import Report
from modelscope.render.diff import diff_dict, differs, render_diff_markdown, render_diff_text

from .conftest import GOLDEN, SAMPLES

HYBRID = str(SAMPLES / "hybrid_cnn.py")
SHAPE = "None,28,28,1"


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelscope", "diff", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_identical_reports_have_no_difference() -> None:
    report = Report.from_json((GOLDEN / "hybrid_cnn.json").read_text())
    arch = architecture_diff(report, report)
    assert arch.equal and not arch.changed and not differs(arch, None, "any")


@pytest.mark.tf
def test_one_changed_dense_shows_exactly_its_two_layers(tmp_path: Path, cli_env: dict[str, str], golden) -> None:
    wide = tmp_path / "wide.py"
    wide.write_text(Path(HYBRID).read_text().replace("Dense(units=64", "Dense(units=128"))
    result = run([HYBRID, str(wide), "--input-shape", SHAPE], tmp_path, cli_env)
    assert result.returncode == 1, result.stderr  # different, like diff(1)
    golden("diff_hybrid_wide.txt", result.stdout.replace(str(wide), "wide.py").replace(HYBRID, "hybrid_cnn.py"))
    arch, moved = diff(HYBRID, wide, SHAPE)
    assert moved is None  # two fresh initialisations are not compared
    assert [(c.path, c.status, c.what) for c in arch.changed] == [
        ("classifier/dense", "changed", ["params", "output", "units"]),
        ("classifier/dense_1", "changed", ["params", "input"]),
    ]
    assert arch.totals["params"] == (107_706, 208_762)
    markdown = render_diff_markdown("a", "b", arch, None)
    assert "| ~ | `classifier/dense` | `Dense` | params 100,416 -> 200,832 (+100,416); output (None, 64) -> " \
           "(None, 128); units 64 -> 128 |" in markdown  # fmt: skip
    assert "**Totals:** params 107,706 -> 208,762 (+101,056, +93.83%)" in markdown
    same = run([HYBRID, HYBRID, "--input-shape", SHAPE], tmp_path, cli_env)
    assert same.returncode == 0 and "Architecture: the same (9 layers)" in same.stdout


@pytest.mark.tf
def test_auto_names_in_another_order_still_match(keras_fresh) -> None:
    def build():
        x = keras_fresh.Input((4,))
        return keras_fresh.Model(x, keras_fresh.layers.Dense(2)(keras_fresh.layers.Dense(3)(x)))

    first = build()
    for _ in range(4):
        keras_fresh.layers.Dense(1)  # moves Keras's name counters: dense_6, dense_7 next
    second = build()
    arch, moved = diff(first, second)
    assert arch.equal and [c.path for c in arch.layers] == ["dense", "dense_1"]
    assert moved is not None and len(moved.variables) == 4 and not moved.unmatched  # live models: compared


@pytest.mark.tf
def test_checkpoints_rank_the_perturbed_layer_first(tmp_path: Path, keras_fresh, cli_env) -> None:
    from modelscope.load import load_model, parse_source

    model = load_model(parse_source(HYBRID))
    model(keras_fresh.Input((28, 28, 1)))
    model.save_weights(tmp_path / "step1.weights.h5")
    kernel = model.fe.layers[2].kernel  # fe/conv2d_1
    kernel.assign(kernel.numpy() * 1.5)
    bias = model.classifier.layers[2].bias  # a small nudge elsewhere
    bias.assign(bias.numpy() + 1e-3)
    model.save_weights(tmp_path / "step2.weights.h5")
    arch, moved = diff(tmp_path / "step1.weights.h5", tmp_path / "step2.weights.h5")
    assert arch.equal
    assert moved.layers[0][0] == "fe/conv2d_1" and moved.layers[0][1] == pytest.approx(0.5, rel=1e-6)
    changed = {v.path: v for v in moved.variables if v.changed}
    assert set(changed) == {"fe/conv2d_1/0", "classifier/dense_1/1"}
    k = kernel.numpy() / 1.5
    assert changed["fe/conv2d_1/0"].max_abs == pytest.approx(float(np.abs(k * 0.5).max()), rel=1e-6)
    assert changed["classifier/dense_1/1"].relative_l2 is None  # its A side (zeros) has no norm
    result = run(["step1.weights.h5", "step2.weights.h5", "--format", "json"], tmp_path, cli_env)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "modelscope.diff/1" and data["equal"] is False and data["layers"] == []
    assert data["weights"]["layers"][0]["layer"] == "fe/conv2d_1"
    only = run(["step1.weights.h5", "step2.weights.h5", "--check", "architecture"], tmp_path, cli_env)
    assert only.returncode == 0  # the architecture is the same; the weights moved
    assert "fe/conv2d_1/0" in only.stdout


@pytest.mark.tf
def test_saved_report_against_live_model(tmp_path: Path, cli_env: dict[str, str]) -> None:
    saved = tmp_path / "cnn.json"
    saved.write_text((GOLDEN / "hybrid_cnn.json").read_text())
    result = run([str(saved), HYBRID, "--input-shape", SHAPE], tmp_path, cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Architecture: the same" in result.stdout
    arch, moved = diff(saved, HYBRID, SHAPE)
    assert arch.equal and moved is None
    assert diff_dict("a", "b", arch, moved)["equal"] is True
    assert render_diff_text("a", "b", arch, moved, show_all=True).count("  = ") == 9


def test_errors_exit_2(tmp_path: Path, cli_env: dict[str, str]) -> None:
    result = run(["missing.py", "other.py"], tmp_path, cli_env)
    assert result.returncode == 2 and "missing.py: no such file" in result.stderr
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"")
    result = run([str(bad), str(bad)], tmp_path, cli_env)
    assert result.returncode == 2 and "the file is empty" in result.stderr and "Traceback" not in result.stderr


def test_two_saved_reports_compare_without_tensorflow(tmp_path: Path, cli_env: dict[str, str]) -> None:
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text((GOLDEN / "hybrid_cnn.json").read_text())
    code = ("import sys\nfrom modelscope.cli import main\ntry:\n    main(['diff', 'a.json', 'b.json'])\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert 'tensorflow' not in sys.modules\n")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=cli_env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Architecture: the same (9 layers)" in result.stdout
