"""Weightless builds (trace/weightless.py): a model from code is summarised without allocating
its variables, with the same report as a real build; code that needs values falls back to a
real build and says so; stats still reads real values. Expected figures come from Keras."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import modelscope
from modelscope.errors import LoadError

from .conftest import ROOT, SAMPLES

pytestmark = [pytest.mark.tf, pytest.mark.xdist_group("weightless")]

BIG = '''import keras

# a 10,000,000 x 1,024 embedding: 10.24 G parameters, 41 GB in float32, more than this machine has
model = keras.Sequential([keras.Input((16,), dtype="int32"), keras.layers.Embedding(10_000_000, 1024),
                          keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(10)])
'''

NEEDS_VALUES = '''import keras
import tensorflow as tf


class RawRead(keras.layers.Layer):
    """Reads its table through the variable's resource handle, which only a real variable has."""

    def build(self, input_shape):
        self.table = self.add_weight(shape=(input_shape[-1], 4), name="table")

    def call(self, x):
        table = tf.raw_ops.ReadVariableOp(resource=self.table.handle, dtype=tf.float32)
        return x @ table


model = keras.Sequential([keras.Input((6,)), RawRead(), keras.layers.Dense(2)])
'''


def _without_keras_names(report: modelscope.Report) -> dict:
    data = report.to_dict()
    for layer in data["layers"]:
        layer.pop("name")
    return data


def test_a_model_larger_than_memory_is_summarised_without_its_values(tmp_path: Path, cli_env, keras_fresh) -> None:
    from modelscope.trace.weightless import weightless

    (tmp_path / "big.py").write_text(BIG)
    with weightless():  # Keras's own count, from the same code, without allocating it either
        namespace: dict = {}
        exec(BIG, namespace)
        expected = namespace["model"].count_params()
    assert expected == 10_000_000 * 1024 + 1024 * 10 + 10
    code = ("import resource, sys\nfrom modelscope.cli import main\n"
            "try:\n    main(['summary', 'big.py', '--format', 'json'])\nexcept SystemExit as e:\n    code = e.code\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, code, file=sys.stderr)\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=cli_env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    peak_kb, exit_code = done.stderr.strip().splitlines()[-1].split()
    assert exit_code in ("0", "None"), done.stderr
    report = json.loads(done.stdout)
    assert report["totals"]["params"] == expected and report["totals"]["bytes"] == expected * 4
    assert int(peak_kb) < 4 * 1024 * 1024  # 41 GB of weights were never allocated
    assert "warnings" not in report


SAMPLE_SHAPES = {"hybrid_cnn.py": "None,28,28,1", "sequential.py": "None,10", "subclassed.py": "None,10",
                 "functional_two_heads.py": None}  # fmt: skip


@pytest.mark.parametrize("sample", sorted(SAMPLE_SHAPES))
def test_a_real_build_gives_the_same_report(sample: str, keras_fresh) -> None:
    light = modelscope.inspect(str(SAMPLES / sample), SAMPLE_SHAPES[sample])
    real = modelscope.inspect(str(SAMPLES / sample), SAMPLE_SHAPES[sample], materialize=True)
    assert _without_keras_names(light) == _without_keras_names(real)
    assert light.warnings == ()


def test_code_that_needs_values_is_built_for_real_and_says_so(tmp_path: Path, keras_fresh) -> None:
    (tmp_path / "raw.py").write_text(NEEDS_VALUES)
    report = modelscope.inspect(str(tmp_path / "raw.py"))
    assert report.totals.params == 6 * 4 + 4 * 2 + 2
    assert len(report.warnings) == 1
    note = report.warnings[0]
    assert note.startswith("built with real weights: the model's code needs variable values while it is built (")
    assert "AttributeError" in note and "RawRead" in note
    assert not modelscope.inspect(str(tmp_path / "raw.py"), materialize=True).warnings  # asked for: no note


def test_nothing_is_left_for_keras_to_initialise_later(tmp_path: Path, keras_fresh) -> None:
    from keras.src.backend.common import global_state

    (tmp_path / "big.py").write_text(BIG)
    before = list(global_state.get_global_attribute("uninitialized_variables", None) or [])
    assert modelscope.inspect(str(tmp_path / "big.py")).totals.params > 10**10
    # the next stateless scope a user's code leaves would initialise whatever is listed: 41 GB
    assert list(global_state.get_global_attribute("uninitialized_variables", None) or []) == before


def test_stats_reads_real_values(keras_fresh) -> None:
    result = modelscope.stats(str(SAMPLES / "hybrid_cnn.py"), "None,28,28,1", spectral=False)
    kernel = next(v for v in result.variables if v.info.path == "fe/conv2d/kernel")
    assert kernel.moments.std is not None and kernel.moments.std > 0.01  # initialised, not zeros


def test_the_readme_main_job_is_weightless(cli_env) -> None:
    done = subprocess.run([sys.executable, "-m", "modelscope", "summary", "samples/hybrid_cnn.py", "--input-shape",
                           "None,28,28,1", "--materialize"], cwd=ROOT, env=cli_env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    light = subprocess.run([sys.executable, "-m", "modelscope", "summary", "samples/hybrid_cnn.py", "--input-shape",
                            "None,28,28,1"], cwd=ROOT, env=cli_env, capture_output=True, text=True,
                           timeout=300)  # fmt: skip
    assert done.returncode == light.returncode == 0 and done.stdout == light.stdout and light.stderr == ""


def test_identical_blocks_are_costed_once_with_the_same_figures(keras_fresh, monkeypatch) -> None:
    import keras_hub

    import modelscope.trace.costing as costing

    def build():
        return keras_hub.models.Llama3Backbone(vocabulary_size=64, num_layers=4, num_query_heads=2, hidden_dim=8,
                                               intermediate_dim=16, num_key_value_heads=1)  # fmt: skip

    shapes, dtypes = {"token_ids": "None,6", "padding_mask": "None,6"}, {"token_ids": "int32", "padding_mask": "int32"}
    runs: list[str] = []
    real = costing.own_ops_cost

    def counted(layer, *args, **kwargs):
        runs.append(type(layer).__name__)
        return real(layer, *args, **kwargs)

    monkeypatch.setattr(costing, "own_ops_cost", counted)
    cached = modelscope.inspect(build(), shapes, dtypes)
    assert runs.count("LlamaTransformerDecoder") == 1  # four identical blocks, run again once
    runs.clear()
    monkeypatch.setattr(costing, "identity", lambda r: None)  # every block run again on its own
    each = modelscope.inspect(build(), shapes, dtypes)
    assert runs.count("LlamaTransformerDecoder") == 4
    assert [(l.path, l.macs, l.flops) for l in cached.layers] == [(l.path, l.macs, l.flops) for l in each.layers]
    assert cached.totals.macs == each.totals.macs and cached.totals.macs


def _damage_keras_weights(source: Path, target: Path) -> None:
    """A copy of a .keras file whose weights member is garbage: its architecture is intact."""
    import zipfile

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            new.writestr(item, b"not HDF5" if item.filename == "model.weights.h5" else old.read(item))


def _damage_h5_weights(source: Path, target: Path) -> None:
    """A copy of a legacy .h5 model file without any weight value."""
    import shutil

    import h5py

    shutil.copy(source, target)
    with h5py.File(target, "r+") as f:
        for name in list(f["model_weights"]):
            del f["model_weights"][name]


def test_model_files_are_summarised_without_reading_their_weights(tmp_path: Path, keras_fresh) -> None:
    keras = keras_fresh
    model = keras.applications.MobileNetV2(weights=None, input_shape=(64, 64, 3), alpha=0.35, classes=7)
    expected = model.count_params()
    model.save(tmp_path / "net.keras")
    model.save(tmp_path / "net.h5")
    _damage_keras_weights(tmp_path / "net.keras", tmp_path / "broken.keras")
    _damage_h5_weights(tmp_path / "net.h5", tmp_path / "broken.h5")
    for intact, broken in (("net.keras", "broken.keras"), ("net.h5", "broken.h5")):
        light = modelscope.inspect(str(tmp_path / intact))
        real = modelscope.inspect(str(tmp_path / intact), materialize=True)
        assert light.totals.params == expected and light.warnings == ()
        assert _without_keras_names(light) == _without_keras_names(real)
        # the weights are never opened: a file whose weights are garbage summarises the same
        damaged = modelscope.inspect(str(tmp_path / broken))
        assert damaged.warnings == () and damaged.totals.params == expected
        assert [v.shape for v in damaged.variables] == [tuple(w.shape) for w in model.weights]
        with pytest.raises(LoadError):  # values are read for stats: the damage shows
            modelscope.stats(str(tmp_path / broken), spectral=False)


def test_a_keras_hub_model_file_is_the_same_without_its_values(tmp_path: Path, keras_fresh) -> None:
    import keras_hub

    backbone = keras_hub.models.BertBackbone(vocabulary_size=50, num_layers=2, num_heads=2, hidden_dim=8,
                                             intermediate_dim=16, max_sequence_length=12)  # fmt: skip
    backbone.save(tmp_path / "bert.keras")
    shapes = {"token_ids": "None,12", "segment_ids": "None,12", "padding_mask": "None,12"}
    dtypes = dict.fromkeys(shapes, "int32")
    light = modelscope.inspect(str(tmp_path / "bert.keras"), shapes, dtypes)
    real = modelscope.inspect(str(tmp_path / "bert.keras"), shapes, dtypes, materialize=True)
    assert light.totals.params == backbone.count_params() and light.warnings == ()
    assert _without_keras_names(light) == _without_keras_names(real)


def test_diff_of_model_files_still_compares_their_weights(tmp_path: Path, keras_fresh) -> None:
    keras = keras_fresh
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(tmp_path / "a.keras")
    model.layers[0].kernel.assign(model.layers[0].kernel + 1.0)
    model.save(tmp_path / "b.keras")
    comparison = modelscope.diff(str(tmp_path / "a.keras"), str(tmp_path / "b.keras"))
    assert comparison.weights is not None
    assert [(v.path, v.changed) for v in comparison.weights.variables] == [("dense/kernel", 1.0), ("dense/bias", 0.0)]
