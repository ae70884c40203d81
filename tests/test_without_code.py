"""Model files read without their code (load/without_code.py): a .keras whose class is not
defined, a Lambda safe mode refuses, --no-code on any file. Models are saved by Keras at test
time, in a separate process whose code the reading process never sees; expected figures come from
Keras in that process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import modelscope
from modelscope.errors import LoadError

from .conftest import SAMPLES

pytestmark = [pytest.mark.tf, pytest.mark.xdist_group("without_code")]

SAVE_HYBRID = """import json, sys
import numpy as np
sys.path.insert(0, {samples!r})
from hybrid_cnn import CNN_Model
import modelscope

model = CNN_Model()
model(np.zeros((1, 28, 28, 1), "float32"))
model.save("cnn.keras")
live = modelscope.inspect(model)
values = {{info.path: [float(v.mean()), float(v.std()), float(v.min()), float(v.max())]
          for info, v in zip(live.variables, (w.numpy() for w in model.weights))}}
json.dump({{"params": model.count_params(), "trainable": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
           "names": sorted(l.name for l in model._flatten_layers(include_self=False)
                           if type(l).__name__ != "InputLayer"), "values": values}},
          open("expected.json", "w"))
kernel = model.fe.layers[0].kernel
kernel.assign(kernel + 1.0)
model.save("cnn_trained.keras")
"""

SAVE_LAMBDA = """import keras
marker = {marker!r}
inp = keras.Input((4,), name="features")
hidden = keras.layers.Dense(3, name="hidden")(inp)
out = keras.layers.Lambda(lambda t: (open(marker, "w").write("ran"), t * 2)[1], name="double")(hidden)
model = keras.Model(inp, keras.layers.Dense(2, name="head")(out))
model.save("lambda.keras")
print(model.count_params())
"""


def _cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelscope", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory: pytest.TempPathFactory, cli_env: dict[str, str]) -> Path:
    folder = tmp_path_factory.mktemp("hybrid")
    code = SAVE_HYBRID.format(samples=str(SAMPLES))
    subprocess.run([sys.executable, "-c", code], cwd=folder, env=cli_env, check=True, capture_output=True, timeout=300)
    return folder


def test_a_subclassed_model_file_opens_without_its_class(hybrid: Path, cli_env: dict[str, str]) -> None:
    expected = json.loads((hybrid / "expected.json").read_text())
    done = _cli(["summary", "cnn.keras", "--format", "json"], hybrid, cli_env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["totals"]["params"] == expected["params"] == 107_706
    assert report["totals"]["trainable"] == expected["trainable"]
    assert sorted(layer["name"] for layer in report["layers"]) == expected["names"]  # every layer
    assert {(layer["path"], layer["class"]) for layer in report["layers"]} >= {("fe/conv2d", "Conv2D"),
                                                                            ("classifier/dense_1", "Dense")}
    (note,) = report["warnings"]
    assert "'CNN_Model' is not defined here" in note and "--import" in note
    assert report["inputs"][0]["shape"] == [1, 28, 28, 1]  # the shape the model was built for, as recorded


def test_stats_of_a_file_without_its_class_are_the_live_models(hybrid: Path, cli_env: dict[str, str]) -> None:
    expected = json.loads((hybrid / "expected.json").read_text())["values"]
    done = _cli(["stats", "cnn.keras", "--format", "json", "--no-spectral"], hybrid, cli_env)
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    got = {v["path"]: [v["mean"], v["std"], v["min"], v["max"]] for v in stats["variables"]}
    assert set(got) == set(expected)  # same variables, by the same paths and names (kernel, bias)
    for path, figures in expected.items():
        assert np.allclose(got[path], figures, rtol=1e-5, atol=1e-7), path


def test_a_lambda_is_shown_and_never_run(tmp_path: Path, cli_env: dict[str, str]) -> None:
    marker = tmp_path / "lambda_ran"
    saved = subprocess.run([sys.executable, "-c", SAVE_LAMBDA.format(marker=str(marker))], cwd=tmp_path,
                           env=cli_env, capture_output=True, text=True, check=True, timeout=300)  # fmt: skip
    marker.unlink()  # building the model ran it; from here on nothing may
    for command in (["summary", "lambda.keras", "--format", "json"], ["stats", "lambda.keras", "--format", "json"],
                    ["graph", "lambda.keras", "--format", "dot"]):  # fmt: skip
        done = _cli(command, tmp_path, cli_env)
        assert done.returncode == 0, done.stderr
        said = done.stdout + done.stderr  # the note: in the JSON, or on stderr beside a picture
        assert "'double' (Lambda)" in said and "--unsafe" in said, command
        assert not marker.exists(), f"{command[0]} ran the Lambda's code"
    report = json.loads(_cli(["summary", "lambda.keras", "--format", "json"], tmp_path, cli_env).stdout)
    assert report["totals"]["params"] == int(saved.stdout.split()[-1]) == 4 * 3 + 3 + 3 * 2 + 2
    assert [(layer["path"], layer["class"]) for layer in report["layers"]] == [
        ("hidden", "Dense"), ("double", "Lambda"), ("head", "Dense")]  # fmt: skip
    assert {(e["src"], e["dst"]) for e in report["edges"]} == {("hidden", "double"), ("double", "head")}
    assert report["layers"][1]["input_shapes"] == [[None, 3]] and report["layers"][1]["output_shapes"] == [[None, 3]]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_no_code_gives_what_keras_builds(suffix: str, tmp_path: Path, keras_fresh) -> None:
    keras = keras_fresh
    model = keras.applications.MobileNetV2(weights=None, input_shape=(64, 64, 3), alpha=0.35, classes=7)
    model.save(tmp_path / f"net{suffix}")
    built = modelscope.inspect(str(tmp_path / f"net{suffix}"))
    free = modelscope.inspect(str(tmp_path / f"net{suffix}"), no_code=True)
    assert free.totals.params == model.count_params()
    assert free.totals.non_trainable == sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert [(layer.path, layer.cls, layer.params) for layer in free.layers] == [
        (layer.path, layer.cls, layer.params) for layer in built.layers]  # fmt: skip
    known = [(f.input_shapes, f.output_shapes, b.input_shapes, b.output_shapes)
             for f, b in zip(free.layers, built.layers) if f.output_shapes]  # fmt: skip
    assert len(known) > 100 and all(f_in == b_in and f_out == b_out for f_in, f_out, b_in, b_out in known)
    assert set(free.edges) == set(built.edges) and free.inputs == built.inputs
    assert [v.path for v in free.variables] == [v.path for v in built.variables]
    assert free.totals.macs is None  # compute needs a trace
    stats = modelscope.stats(str(tmp_path / f"net{suffix}"), no_code=True, spectral=False)
    weights = {v.path: w for v, w in zip(built.variables, model.get_weights())}
    for v in stats.variables:
        assert v.moments.mean == pytest.approx(float(weights[v.info.path].astype(np.float64).mean()), abs=1e-6)


def test_a_damaged_weights_group_is_a_clear_error(tmp_path: Path, keras_fresh) -> None:
    import zipfile

    import h5py

    keras = keras_fresh
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        config = z.read("config.json")
    with h5py.File(tmp_path / "w.h5", "w") as f:
        f.create_group("vars").attrs["name"] = "sequential"
        f.create_dataset("layers/dense/vars/0", data=np.array([b"text"]))  # a string where numbers belong
        f["layers/dense/vars"].attrs["name"] = "dense"
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as z:
        z.writestr("config.json", config)
        z.write(tmp_path / "w.h5", "model.weights.h5")
    with pytest.raises(LoadError, match="not a numeric dataset"):
        modelscope.inspect(str(tmp_path / "bad.keras"), no_code=True)


def test_diff_and_the_plugin_work_without_the_class(hybrid: Path, cli_env: dict[str, str]) -> None:
    from modelscope.testing import assert_params

    done = _cli(["diff", "cnn.keras", "cnn_trained.keras", "--format", "json"], hybrid, cli_env)
    assert done.returncode == 1, done.stderr  # diff(1): different
    assert "A: read without the model's code" in done.stderr and "B: read without" in done.stderr
    moved = json.loads(done.stdout)["weights"]["variables"]
    assert [v["path"] for v in moved if v["changed"]] == ["fe/conv2d/kernel"]
    report = assert_params(str(hybrid / "cnn.keras"), total=107_706, layers={"fe/conv2d": 208, "classifier": 101_066})
    assert report.warnings and "not defined here" in report.warnings[0]


def _external_weights(path: Path, secret: Path) -> None:
    """A weights file whose dataset keeps its values in another file (HDF5 external storage)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.create_group("vars").attrs["name"] = "sequential"
        f.create_group("layers/dense/vars").attrs["name"] = "dense"
        f.create_dataset("layers/dense/vars/0", shape=(3, 2), dtype="f4", external=[(str(secret), 0, 24)])
        f.create_dataset("layers/dense/vars/1", data=np.zeros(2, "f4"))


def test_values_kept_in_other_files_are_never_read(tmp_path: Path, cli_env: dict[str, str], keras_fresh) -> None:
    """HDF5 external storage would let a weights file read any file it names (a secret, a FIFO)."""
    import zipfile

    keras = keras_fresh
    secret = tmp_path / "secret"
    secret.write_bytes(b"\x00\x00\x80?" * 6)  # six float32 ones
    _external_weights(tmp_path / "w.weights.h5", secret)
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z, zipfile.ZipFile(tmp_path / "evil.keras", "w") as evil:
        for name in ("metadata.json", "config.json"):
            evil.writestr(name, z.read(name))
        evil.write(tmp_path / "w.weights.h5", "model.weights.h5")
    for args in (["stats", "w.weights.h5"], ["summary", "w.weights.h5"], ["stats", "evil.keras"],
                 ["stats", "evil.keras", "--no-code"], ["stats", "m.keras", "--weights", "w.weights.h5"]):  # fmt: skip
        done = _cli(args, tmp_path, cli_env)
        assert done.returncode == 1, (args, done.stdout)
        assert "keeps its values in other files" in done.stderr and "Traceback" not in done.stderr, args


def test_no_code_needs_no_tensorflow(hybrid: Path, cli_env: dict[str, str], tmp_path: Path) -> None:
    """--no-code on a .keras: read in a process where TensorFlow and Keras cannot be imported."""
    from .test_keras2_savedmodel import BLOCKED

    expected = json.loads((hybrid / "expected.json").read_text())
    (tmp_path / "blocked.py").write_text(BLOCKED)
    for command in ("summary", "stats"):
        done = subprocess.run([sys.executable, str(tmp_path / "blocked.py"), command, "cnn.keras", "--no-code",
                               "--format", "json"], cwd=hybrid, env=cli_env, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        params = data["totals"]["params"] if command == "summary" else sum(
            int(np.prod(v["shape"])) for v in data["variables"])  # fmt: skip
        assert params == expected["params"], command
