"""The pytest plugin, run with pytester: passing and failing assertions (exact failure text),
snapshots created, matched, mismatched and updated, declarative .toml items, pytest-xdist.

Most runs check saved report JSONs (no TensorFlow, fast); the end-to-end test runs the real
hybrid CNN sample in a fresh pytest process, as a user's project would.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelscope.model.report import Report
from modelscope.testing import dump_snapshot, snapshot_of, stable_paths

from .conftest import GOLDEN, SAMPLES

pytest_plugins = ["pytester"]

HYBRID_JSON = GOLDEN / "hybrid_cnn.json"


@pytest.fixture(scope="module")
def wider_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hybrid CNN with Dense(64) changed to Dense(65), traced for real, as a report JSON."""
    import modelscope

    folder = tmp_path_factory.mktemp("wider")
    source = folder / "hybrid_cnn.py"
    source.write_text((SAMPLES / "hybrid_cnn.py").read_text().replace("Dense(units=64", "Dense(units=65"))
    path = folder / "wider.json"
    path.write_text(modelscope.inspect(source, "None,28,28,1").to_json())
    return path


def _failure_lines(output: str) -> list[str]:
    """The ``E`` lines of pytest's report, without the prefix."""
    return [line[8:] if line.startswith("E       ") else line[2:] for line in output.splitlines()
            if line.startswith("E ")]  # fmt: skip


def _setup(pytester: pytest.Pytester, *jsons: Path) -> None:
    for path in jsons:
        shutil.copy(path, pytester.path / path.name)


ASSERTIONS = '''
from modelscope.testing import assert_params

def test_passes():
    assert_params("hybrid_cnn.json", total=107706, trainable=107706, non_trainable=0,
                  layers={"fe/conv2d": 208, "classifier/dense": 100416, "classifier/dense_1": 650},
                  max_params=107706, max_bytes=430824)

def test_fails_on_every_figure():
    assert_params("hybrid_cnn.json", total=107705, trainable=107000, non_trainable=1,
                  layers={"fe/conv2d": 200, "classifier/dense": 100416, "fe/conv9": 1, "sequential_1/dense": 1},
                  max_params=100000, max_bytes=400000)

def test_total_alone_points_at_the_largest_layers(modelscope):
    modelscope.assert_params("hybrid_cnn.json", total=1)
'''


def test_assert_params_failure_text(pytester: pytest.Pytester, golden) -> None:
    _setup(pytester, HYBRID_JSON)
    pytester.makepyfile(test_model=ASSERTIONS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    lines = [line for line in _failure_lines(result.stdout.str()) if "ModelscopeMismatch" not in line]
    golden("plugin_assert_params.txt", "\n".join(lines) + "\n")
    assert "assert 107706 == 107705" not in result.stdout.str()


def test_fixture_and_marker_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.modelscope:*"])
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(["modelscope -- *"])
    result.stdout.fnmatch_lines(["modelscope_snapshot -- *"])
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["modelscope: checks of Keras model architectures:", "*--modelscope-update*"])


SNAPSHOT_TEST = '''
def test_architecture(modelscope_snapshot):
    modelscope_snapshot.assert_match("{source}")
'''


@pytest.mark.tf
def test_snapshot_create_match_mismatch_update(pytester: pytest.Pytester, wider_json: Path, golden) -> None:
    _setup(pytester, HYBRID_JSON, wider_json)
    pytester.makepyfile(test_arch=SNAPSHOT_TEST.format(source="hybrid_cnn.json"))
    snapshot = pytester.path / "__modelscope__" / "test_arch" / "test_architecture.json"

    missing = pytester.runpytest("-p", "no:cacheprovider")
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*no snapshot __modelscope__/test_arch/test_architecture.json yet. "
                                  "Run pytest --modelscope-update to create it, then commit it."])  # fmt: skip
    assert not snapshot.exists()

    created = pytester.runpytest("-p", "no:cacheprovider", "--modelscope-update")
    created.assert_outcomes(passed=1)
    created.stdout.fnmatch_lines(["modelscope: 1 snapshot(s) written, 0 unchanged"])
    expected = dump_snapshot(snapshot_of(Report.from_json(HYBRID_JSON.read_text())))
    assert snapshot.read_text() == expected
    golden("plugin_snapshot.json", expected)

    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

    pytester.makepyfile(test_arch=SNAPSHOT_TEST.format(source="wider.json"))
    changed = pytester.runpytest("-p", "no:cacheprovider")
    changed.assert_outcomes(failed=1)
    golden("plugin_snapshot_diff.txt", "\n".join(_failure_lines(changed.stdout.str())[1:]) + "\n")

    again = pytester.runpytest("-p", "no:cacheprovider", "--modelscope-update")
    again.stdout.fnmatch_lines(["modelscope: 1 snapshot(s) written, 0 unchanged"])
    assert '"params": 101985' in snapshot.read_text()
    unchanged = pytester.runpytest("-p", "no:cacheprovider", "--modelscope-update")
    unchanged.stdout.fnmatch_lines(["modelscope: 0 snapshot(s) written, 1 unchanged"])


TWO_CLASSES = """
class TestSmall:
    def test_arch(self, modelscope_snapshot):
        modelscope_snapshot.assert_match("hybrid_cnn.json")

class TestWide:
    def test_arch(self, modelscope_snapshot):
        modelscope_snapshot.assert_match("wider.json")
"""


@pytest.mark.tf
def test_snapshots_of_same_named_tests_in_two_classes_are_separate(pytester: pytest.Pytester, wider_json: Path) -> None:
    import stat

    _setup(pytester, HYBRID_JSON, wider_json)
    pytester.makepyfile(test_classes=TWO_CLASSES)
    pytester.runpytest("-p", "no:cacheprovider", "--modelscope-update").assert_outcomes(passed=2)
    folder = pytester.path / "__modelscope__" / "test_classes"
    assert sorted(p.name for p in folder.iterdir()) == ["TestSmall.test_arch.json", "TestWide.test_arch.json"]
    assert '"params": 101985' in (folder / "TestWide.test_arch.json").read_text()
    assert '"params": 101985' not in (folder / "TestSmall.test_arch.json").read_text()
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in folder.iterdir())  # as any file the user writes
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)

    (folder / "TestWide.test_arch.json").write_text('{"schema": "modelscope.snapshot/1", "layers": [')  # truncated
    broken = pytester.runpytest("-p", "no:cacheprovider")
    broken.assert_outcomes(passed=1, failed=1)
    broken.stdout.fnmatch_lines(["*snapshot __modelscope__/test_classes/TestWide.test_arch.json is not a modelscope "
                                 "snapshot (JSONDecodeError*); run pytest --modelscope-update to write it again."])
    assert "Traceback" not in broken.stdout.str()


TOML = '''
[[model]]
name = "hybrid"
source = "hybrid_cnn.json"
total = 107706
[model.layers]
"fe/conv2d" = 208

[[model]]
name = "hybrid over budget"
source = "hybrid_cnn.json"
max_params = 100000
'''


def test_declarative_toml_items(pytester: pytest.Pytester) -> None:
    _setup(pytester, HYBRID_JSON)
    pytester.makefile(".toml", modelscope_models=TOML)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*modelscope_models.toml::hybrid PASSED*",
                                 "*modelscope_models.toml::hybrid over budget FAILED*",
                                 "modelscope: hybrid_cnn.json is not what the test expects:",
                                 "  params 107,706 exceed max_params=100,000 by 7,706"])  # fmt: skip
    assert "Traceback" not in result.stdout.str()


def test_bad_toml_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", modelscope_bad='[[model]]\nsource = "x.py"\ntotl = 3\n')
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert "modelscope_bad.toml: [[model]] #1: unknown keys ['totl']" in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_xdist_writes_snapshots_and_counts_them(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is part of the test extra")
    _setup(pytester, HYBRID_JSON)
    tests = "\n".join(f"def test_{i}(modelscope_snapshot):\n    modelscope_snapshot.assert_match('hybrid_cnn.json')\n"
                      for i in range(6))  # fmt: skip
    pytester.makepyfile(test_many=tests)
    written = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--modelscope-update")
    written.assert_outcomes(passed=6)
    written.stdout.fnmatch_lines(["modelscope: 6 snapshot(s) written, 0 unchanged"])
    files = sorted(p.name for p in (pytester.path / "__modelscope__" / "test_many").iterdir())
    assert files == [f"test_{i}.json" for i in range(6)]
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2").assert_outcomes(passed=6)


@pytest.mark.tf
def test_stable_paths_survive_keras_name_counters(keras_fresh) -> None:
    import modelscope

    def build():
        x = keras_fresh.Input((4,))
        return keras_fresh.Model(x, keras_fresh.layers.Dense(2)(keras_fresh.layers.Dense(3)(x)))

    first = modelscope.inspect(build())
    for _ in range(5):
        keras_fresh.layers.Dense(1)  # other tests' layers move Keras's global counters
    second = modelscope.inspect(build())
    assert [l.name for l in first.layers] != [l.name for l in second.layers]  # dense vs dense_7 ...
    assert [l.path for l in second.layers] == [l.path for l in first.layers] == ["dense", "dense_1"]
    assert list(stable_paths(second).values()) == ["dense", "dense_1"]  # the public helper: the identity now
    assert dump_snapshot(snapshot_of(first)) == dump_snapshot(snapshot_of(second))


def test_plugin_import_is_light(tmp_path: Path) -> None:
    code = ("import sys, modelscope.testing.plugin\n"
            "heavy = [m for m in ('tensorflow', 'keras', 'numpy', 'h5py', 'rich') if m in sys.modules]\n"
            "assert not heavy, heavy\n")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=60)


@pytest.mark.tf
def test_fresh_project_end_to_end(pytester: pytest.Pytester) -> None:
    """The issue's scenario: the sample passes; Dense(64) -> Dense(65) fails by name and count,
    and the snapshot shows the change."""
    (pytester.path / "samples").mkdir()
    shutil.copy(SAMPLES / "hybrid_cnn.py", pytester.path / "samples" / "hybrid_cnn.py")
    pytester.makepyfile(test_cnn='''
from modelscope.testing import assert_params

def test_params():
    assert_params("samples/hybrid_cnn.py", input_shape=(None, 28, 28, 1), total=107706)

def test_snapshot(modelscope_snapshot):
    modelscope_snapshot.assert_match("samples/hybrid_cnn.py", input_shape=(None, 28, 28, 1))
''')
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--modelscope-update").assert_outcomes(passed=2)
    sample = pytester.path / "samples" / "hybrid_cnn.py"
    sample.write_text(sample.read_text().replace("Dense(units=64", "Dense(units=65"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert re.search(r"total params +expected +107,706 +actual +109,285 +\(\+1,579\)", out), out
    assert "largest layers now: classifier/dense 101,985" in out
    assert re.search(r"~ classifier/dense +Dense +params 100,416 -> 101,985 \(\+1,569\)", out), out
    assert "output (None, 64) -> (None, 65)" in out
    assert "totals: params 107,706 -> 109,285 (+1,579, +1.47%)" in out


def test_snapshot_diff_names_added_removed_and_changed_layers() -> None:
    from modelscope.testing import snapshot_diff

    def layer(path: str, cls: str, params: int, trainable: int | None = None, out=(None, 4)) -> dict:
        return {"path": path, "class": cls, "params": params, "trainable": params if trainable is None else trainable,
                "input_shapes": [[None, 4]], "output_shapes": [list(out)]}  # fmt: skip

    model = {"class": "M", "kind": "functional"}
    old = {"model": model, "totals": {"params": 60, "trainable": 60, "non_trainable": 0},
           "layers": [layer("dense", "Dense", 20), layer("norm", "BatchNormalization", 16), layer("head", "Dense", 24)]}
    new = {"model": model, "totals": {"params": 54, "trainable": 30, "non_trainable": 24},
           "layers": [layer("dense", "Dense", 20, 0), layer("drop", "Dropout", 0), layer("head", "EinsumDense", 34)]}
    assert snapshot_diff(old, new) == [
        "~ dense  Dense               trainable 20 -> 0",
        "+ drop   Dropout             (None, 4), 0 params",
        "~ head   EinsumDense         class Dense -> EinsumDense; params 24 -> 34 (+10)",
        "- norm   BatchNormalization  (None, 4), 16 params",
        "totals: params 60 -> 54 (-6, -10.00%); trainable 60 -> 30 (-30, -50.00%); non_trainable 0 -> 24 (+24)",
    ]  # fmt: skip
    assert snapshot_diff(new, new) == []
