"""Model files (.keras, .h5, .weights.h5): same totals as the model in memory, the weights read
back, nothing on disk touched, and every bad file a clear error with exit code 1."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import modelscope
from modelscope.api import stats as model_stats

from .conftest import ROOT, SAMPLES

HYBRID = str(SAMPLES / "hybrid_cnn.py")
SHAPE = "None,28,28,1"
CUSTOM_LAYER = '''
import keras


class Scale(keras.layers.Layer):
    def call(self, x):
        return x * 3
'''


def run(args: list[str], cwd: Path, env: dict[str, str], *prefix: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-m", "modelscope", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The samples saved in every format, with what the models in memory say."""
    from modelscope._keras import import_keras
    from modelscope.load import load_model, parse_source

    keras = import_keras()
    keras.backend.clear_session()
    folder = tmp_path_factory.mktemp("models")
    hybrid = load_model(parse_source(HYBRID))
    hybrid(keras.Input((28, 28, 1)))
    rng = np.random.default_rng(3)
    for v in hybrid.weights:  # trained-looking values, so "loaded" cannot be mistaken for "fresh"
        v.assign(rng.standard_normal(v.shape).astype("float32"))
    hybrid.save(folder / "hybrid.keras")
    hybrid.save(folder / "hybrid.h5")
    hybrid.save_weights(folder / "hybrid.weights.h5")
    hybrid.export(folder / "hybrid_export", verbose=False)
    import tf_keras  # the test extra has it

    from .test_keras2_savedmodel import _hybrid_class

    tf_keras.backend.clear_session()
    old = _hybrid_class(tf_keras)()
    old(tf_keras.Input((28, 28, 1)))
    old.set_weights([np.asarray(v.numpy()) for v in hybrid.weights])
    old.save(folder / "hybrid_keras2", save_format="tf")
    heads = load_model(parse_source(str(SAMPLES / "functional_two_heads.py")))
    heads.save(folder / "heads.keras")
    heads.save(folder / "heads.h5")
    inp = keras.Input((4,))
    lam = keras.Model(inp, keras.layers.Lambda(lambda t: t * 2, name="double")(keras.layers.Dense(3)(inp)))
    lam.save(folder / "lambda.keras")
    (folder / "scale_layer.py").write_text(CUSTOM_LAYER)
    from modelscope.load import import_code

    scale = import_code((str(folder / "scale_layer.py"),))["Scale"]
    inp = keras.Input((4,))
    keras.Model(inp, scale(name="scale")(keras.layers.Dense(2)(inp))).save(folder / "custom.keras")
    return {
        "folder": folder,
        "hybrid_values": [np.asarray(v.numpy()) for v in hybrid.weights],
        "params": {"hybrid": hybrid.count_params(), "heads": heads.count_params()},
    }


def _snapshot(folder: Path) -> dict[str, tuple]:
    """Every file's bytes (hash) and modification time, every directory's listing and time."""
    state = {}
    for path in sorted(folder.rglob("*")) + [folder]:
        st = path.stat()
        if path.is_dir():
            state[str(path)] = (tuple(sorted(os.listdir(path))), st.st_mtime_ns)
        else:
            state[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns)
    return state


LOADS = {  # file -> (model, inspect arguments)
    "hybrid.keras": ("hybrid", {"imports": (HYBRID,)}),
    "hybrid.h5": ("hybrid", {"imports": (HYBRID,), "input_shape": SHAPE}),
    "hybrid.weights.h5": ("hybrid", {}),
    "heads.keras": ("heads", {}),
    "heads.h5": ("heads", {}),
    "hybrid_export": ("hybrid", {}),
    "hybrid_keras2": ("hybrid", {}),
}


@pytest.mark.tf
@pytest.mark.parametrize("name", sorted(LOADS))
def test_each_format_reports_the_in_memory_totals(name: str, saved: dict) -> None:
    model, kwargs = LOADS[name]
    report = modelscope.inspect(saved["folder"] / name, **kwargs)
    assert report.totals.params == saved["params"][model]
    if model == "hybrid":
        assert report.totals.params == 107_706
    if name.endswith(".weights.h5"):
        assert report.model.kind == "weights" and report.static
        assert {l.path: l.params for l in report.layers if l.depth == 1} == {"fe": 6_640, "classifier": 101_066}
    elif name.endswith("_export"):
        assert report.model.kind == "savedmodel"
        top = {l.path: (l.params, l.output_shapes) for l in report.layers if l.depth == 1}
        assert top == {"sequential": (6_640, ((None, 7, 7, 32),)), "sequential_1": (101_066, ((None, 10),))}
        assert [s.name for s in report.signatures] == ["serve", "serving_default"]
    else:
        assert not report.static and report.outputs


@pytest.mark.tf
@pytest.mark.parametrize("name", ["hybrid.keras", "hybrid.h5", "hybrid.weights.h5", "hybrid_export", "hybrid_keras2"])
def test_stats_read_the_saved_weights(name: str, saved: dict) -> None:
    """The statistics are of the stored values, not of a freshly initialised model."""
    result = model_stats(str(saved["folder"] / name), spectral=False, **LOADS[name][1])
    got = sorted((v.info.shape, round(v.moments.mean, 9), round(v.moments.std, 9)) for v in result.variables)
    want = sorted((w.shape, round(float(w.astype(np.float64).mean()), 9), round(float(w.astype(np.float64).std()), 9))
                  for w in saved["hybrid_values"])  # fmt: skip
    assert got == want


@pytest.mark.tf
def test_loading_and_stats_leave_every_file_untouched(saved: dict) -> None:
    folder = saved["folder"]
    before = _snapshot(folder)
    for name, (_, kwargs) in LOADS.items():
        modelscope.inspect(folder / name, **kwargs)
        model_stats(str(folder / name), spectral=False, **kwargs)
    assert _snapshot(folder) == before


@pytest.mark.tf
def test_keras2_savedmodel_without_tf_keras_is_read_as_data(saved: dict, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tf_keras" else real(name, *a))
    report = modelscope.inspect(saved["folder"] / "hybrid_keras2")
    assert report.model.kind == "hybrid" and report.model.cls == "CNN_Model" and report.totals.params == 107_706
    assert "tf_keras is not installed; pip install 'keras-modelscope[legacy]'" in report.warnings[0]
    assert {(l.path, l.cls) for l in report.layers} >= {("fe/conv2d", "Conv2D"), ("classifier/dense_1", "Dense")}


@pytest.mark.tf
def test_savedmodel_graph_and_signature_choice(saved: dict, cli_env: dict[str, str]) -> None:
    folder = saved["folder"]
    dot = modelscope.graph(folder / "hybrid_export", format="dot")
    assert "cluster_sequential_1" in dot and '"sequential_1/dense"' in dot
    wrong = run(["summary", "hybrid_export", "--signature", "nope"], folder, cli_env)
    assert wrong.returncode == 2 and "no signature 'nope'; signatures: serve, serving_default" in wrong.stderr
    chosen = run(["summary", "hybrid_export", "--signature", "serve", "--format", "json"], folder, cli_env)
    assert chosen.returncode == 0, chosen.stderr
    data = json.loads(chosen.stdout)
    assert data["inputs"][0]["shape"] == [None, 28, 28, 1] and data["totals"]["params"] == 107_706
    assert [s["name"] for s in data["signatures"]] == ["serve", "serving_default"]


def test_weights_file_summary_needs_no_tensorflow(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """A Keras 3 weights file written with h5py alone (the layout save_weights uses)."""
    import h5py

    path = tmp_path / "net.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("fe/layers/conv2d/vars/0", data=np.ones((5, 5, 1, 8), np.float32))
        f.create_dataset("fe/layers/conv2d/vars/1", data=np.zeros(8, np.float32))
        f.create_dataset("layers/dense/vars/0", data=np.full((8, 2), 0.5, np.float16))
    code = ("import sys\nfrom modelscope.cli import main\ntry:\n    main(['summary', 'net.weights.h5'])\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\nassert 'tensorflow' not in sys.modules\n"
            "assert 'keras' not in sys.modules\n")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=cli_env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "net (weights file, no architecture)"
    assert "(5, 5, 1, 8)" in result.stdout and "float16" in result.stdout
    assert "Total params: 224 " in result.stdout  # 200 + 8 + 16
    assert any(line.split()[-2:] == ["dense", "16"] for line in lines), result.stdout


@pytest.mark.tf
def test_keras2_weights_file_names_its_variables(tmp_path: Path) -> None:
    tf_keras = pytest.importorskip("tf_keras", reason="tf_keras is part of the test extra")
    model = tf_keras.Sequential([tf_keras.Input((6,)), tf_keras.layers.Dense(4, name="hidden"),
                                 tf_keras.layers.BatchNormalization(name="norm")])  # fmt: skip
    model.save_weights(tmp_path / "old.h5")
    report = modelscope.inspect(tmp_path / "old.h5")
    assert report.model.kind == "weights"
    assert report.totals.params == model.count_params() == 6 * 4 + 4 + 4 * 4
    assert [v.path for v in report.variables] == ["hidden/kernel", "hidden/bias", "norm/gamma", "norm/beta",
                                                  "norm/moving_mean", "norm/moving_variance"]  # fmt: skip


@pytest.mark.tf
def test_lambda_file_is_read_as_data_then_run_with_unsafe(saved: dict, cli_env: dict[str, str]) -> None:
    folder = saved["folder"]
    refused = run(["summary", "lambda.keras"], folder, cli_env)  # safe mode: structure only, code not run
    assert refused.returncode == 0, refused.stderr
    assert "'double' (Lambda)" in refused.stdout and "--unsafe" in refused.stdout and "MACs" not in refused.stdout
    assert "Traceback" not in refused.stderr
    accepted = run(["summary", "lambda.keras", "--unsafe"], folder, cli_env)
    assert accepted.returncode == 0, accepted.stderr
    assert "warning: --unsafe" in accepted.stderr and "'double'" in accepted.stderr
    assert "double" in accepted.stdout and "Lambda" in accepted.stdout


@pytest.mark.tf
def test_missing_custom_class_names_it_and_import_fixes_it(saved: dict) -> None:
    folder = saved["folder"]
    free = modelscope.inspect(folder / "custom.keras")  # read without its code, and says how to get the rest
    assert "the class 'Scale' is not defined here; --import" in free.warnings[0]
    assert [l.cls for l in free.layers] == ["Dense", "Scale"] and free.totals.params == 10
    report = modelscope.inspect(folder / "custom.keras", imports=(str(folder / "scale_layer.py"),))
    assert [l.cls for l in report.layers] == ["Dense", "Scale"] and report.totals.params == 10


def _newer_keras(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "99.0.0"}))
        z.writestr("config.json", "{}")


def _truncated_keras(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "{}" * 5000)
    path.write_bytes(path.read_bytes()[:300])


def _savedmodel_without_variables(path: Path) -> None:
    path.mkdir()
    (path / "saved_model.pb").write_bytes(b"\x08\x01")


BAD_FILES = {  # name -> (make it, what the message says)
    "empty.keras": (lambda p: p.write_bytes(b""), "the file is empty"),
    "truncated.keras": (_truncated_keras, "not a valid .keras archive"),
    "renamed.h5": (lambda p: p.write_text("just some text\n"), "not an HDF5 file"),
    "not_a_model": (lambda p: (p.mkdir(), (p / "notes.txt").write_text("hi")), "not a SavedModel"),
    "lost_variables": (_savedmodel_without_variables, "lost its variables/ folder"),
    "future.keras": (_newer_keras, "made by Keras 99.0.0, newer than the installed Keras"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_are_clear_errors(name: str, tmp_path: Path, cli_env: dict[str, str]) -> None:
    make, message = BAD_FILES[name]
    make(tmp_path / name)
    result = run(["summary", name], tmp_path, cli_env)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"modelscope: error: {name}:")


def test_unreadable_file_is_a_clear_error(tmp_path: Path, cli_env: dict[str, str]) -> None:
    path = tmp_path / "secret.keras"
    shutil.copy(ROOT / "README.md", path)
    path.chmod(0)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:  # root reads anything: drop the capability that lets it
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        prefix = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")
    result = run(["summary", "secret.keras"], tmp_path, cli_env, *prefix)
    assert result.returncode == 1, result.stderr
    assert "secret.keras: permission denied" in result.stderr and "Traceback" not in result.stderr
