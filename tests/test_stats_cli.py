"""`modelscope stats` on real Keras models and weight files: flags, --check, --weights, formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import modelscope.api

from .conftest import ROOT, SAMPLES

pytestmark = pytest.mark.tf

PLANTED = """
import numpy as np
import keras
from keras import layers


def build_model():
    model = keras.Sequential([keras.Input((16,)), layers.Dense(32, name="a"), layers.Dense(32, name="b"),
                              layers.Dense(4, name="c")])
    a, b, c = (model.get_layer(n) for n in "abc")
    k = a.kernel.numpy(); k[2, 3] = np.nan; a.kernel.assign(k)            # a NaN
    k = b.kernel.numpy(); k[:, 7] = 0.0; b.kernel.assign(k)               # a dead unit
    c.kernel.assign(c.kernel.numpy() * 1000.0)                            # an exploded layer
    return model
"""


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelscope", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_check_names_each_planted_problem_and_exits_1(tmp_path: Path, cli_env) -> None:
    (tmp_path / "planted.py").write_text(PLANTED)
    result = run(["stats", "planted.py", "--check", "--format", "json"], tmp_path, cli_env)
    assert result.returncode == 1, result.stderr
    flags = {(f["path"], f["rule"]) for f in json.loads(result.stdout)["flags"]}
    assert flags == {("a/kernel", "nan_inf"), ("b/kernel", "dead_units"), ("c/kernel", "exploding")}
    table = run(["stats", "planted.py"], tmp_path, cli_env)
    assert table.returncode == 0  # without --check, flags are reported, not failed on
    assert "3 flag(s):" in table.stdout and "a/kernel: nan_inf: 1 NaN and 0 Inf values" in table.stdout


def test_fresh_model_passes_check(tmp_path: Path, cli_env) -> None:
    result = run(["stats", str(SAMPLES / "hybrid_cnn.py"), "--input-shape", "None,28,28,1", "--check"],
                 tmp_path, cli_env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "No health flags." in result.stdout and "exact-gram" in result.stdout


def test_weights_file_is_loaded_and_left_untouched(tmp_path: Path, keras_fresh) -> None:
    from modelscope.load import load_model, parse_source

    model = load_model(parse_source(str(SAMPLES / "hybrid_cnn.py")))
    model(np.zeros((1, 28, 28, 1), "float32"))
    dense = model.classifier.layers[1]
    dense.kernel.assign(np.full(dense.kernel.shape, 0.25, "float32"))
    weights = tmp_path / "trained.weights.h5"
    model.save_weights(weights)
    before = (weights.read_bytes(), weights.stat().st_mtime_ns)
    stats = modelscope.api.stats(str(SAMPLES / "hybrid_cnn.py"), "None,28,28,1", weights=str(weights))
    kernel = next(v for v in stats.variables if v.info.shape == (1568, 64))  # a fresh load: fresh auto-names
    assert (kernel.moments.mean, kernel.moments.std) == (0.25, 0.0)
    assert {(f.path, f.rule) for f in stats.flags} == {(kernel.info.path, "collapsed")}
    assert (weights.read_bytes(), weights.stat().st_mtime_ns) == before


def test_bad_weights_file_is_a_clear_error(tmp_path: Path, cli_env) -> None:
    bad = tmp_path / "other.weights.h5"
    bad.write_bytes(b"not an hdf5 file")
    result = run(["stats", str(SAMPLES / "hybrid_cnn.py"), "--input-shape", "None,28,28,1", "--weights", str(bad)],
                 tmp_path, cli_env)  # fmt: skip
    assert result.returncode == 1
    assert "could not load these weights" in result.stderr and "Traceback" not in result.stderr


def test_csv_and_filter(tmp_path: Path, cli_env) -> None:
    out = tmp_path / "w.csv"
    result = run(["stats", str(SAMPLES / "hybrid_cnn.py"), "--input-shape", "None,28,28,1", "--format", "csv",
                  "--filter", "*/kernel", "-o", str(out)], tmp_path, cli_env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = out.read_text().splitlines()
    assert rows[0].startswith("path,layer,shape,dtype") and len(rows) == 5
    assert all(r.split(",")[0].endswith("/kernel") for r in rows[1:])


def test_report_json_is_refused_for_stats(tmp_path: Path, cli_env) -> None:
    saved = tmp_path / "r.json"
    saved.write_text((ROOT / "tests" / "golden" / "hybrid_cnn.json").read_text())
    result = run(["stats", str(saved)], tmp_path, cli_env)
    assert result.returncode == 2 and "holds no weight values" in result.stderr
