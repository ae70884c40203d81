"""Sharded Keras checkpoints (``model.save_weights("x.weights.json", max_shard_size=...)``): read
as the single ``.weights.h5`` of the same model reads, without TensorFlow, streamed one variable
at a time, never written, and every hostile index a one-line error."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

import modelscope
from modelscope.api import stats as model_stats

NET = """import keras


def build_model():
    inner = keras.Sequential([keras.layers.Dense(96, name="proj"), keras.layers.BatchNormalization(name="norm")],
                             name="inner")
    return keras.Sequential([keras.Input((64,)), keras.layers.Dense(200, name="wide"), inner,
                             keras.layers.Dense(10, name="head")])
"""
# Keras starts a new shard when the next value would pass the limit: wide (52,000 bytes) in the
# first, proj's kernel (76,800) in the second, its bias and the rest in the third.
SHARD_BYTES = 77_000


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelscope", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every file's bytes (hash) and modification time, and the folder's listing."""
    state: dict[str, tuple] = {str(folder): tuple(sorted(os.listdir(folder)))}
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.is_symlink():
            state[path.name] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return state


def figures(arrays) -> list[tuple]:
    """(shape, mean, std) of each array, sorted: comparable whatever the order and names."""
    return sorted((a.shape, round(float(np.mean(a, dtype=np.float64)), 9), round(float(np.std(a, dtype=np.float64)), 9))
                  for a in arrays)  # fmt: skip


# -- real Keras checkpoints ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """net.py's model with trained-looking values, saved sharded and as one file."""
    from modelscope._keras import import_keras

    keras = import_keras()
    keras.backend.clear_session()
    folder = tmp_path_factory.mktemp("sharded")
    (folder / "net.py").write_text(NET)
    namespace: dict[str, object] = {}
    exec(NET, namespace)
    model = namespace["build_model"]()  # type: ignore[operator]
    rng = np.random.default_rng(5)
    for v in model.weights:
        v.assign((0.05 * np.abs(rng.standard_normal(v.shape)) + 0.01).astype("float32"))  # variances > 0
    model.save_weights(folder / "net.weights.json", max_shard_size=SHARD_BYTES / 1024**3)
    model.save_weights(folder / "net.weights.h5")
    return {"folder": folder, "params": model.count_params(), "values": [np.asarray(w) for w in model.get_weights()]}


@pytest.mark.tf
def test_sharded_checkpoint_reads_as_its_single_file(saved: dict) -> None:
    folder = saved["folder"]
    weight_map = json.loads((folder / "net.weights.json").read_text())["weight_map"]
    assert sorted({n for names in weight_map.values() for n in names}) == [f"net_0000{i}.weights.h5" for i in range(3)]
    assert weight_map["/layers/sequential/layers/dense/vars"] == ["net_00001.weights.h5", "net_00002.weights.h5"]
    sharded = modelscope.inspect(folder / "net.weights.json")
    single = modelscope.inspect(folder / "net.weights.h5")
    assert sharded.model.kind == "weights" and sharded.model.name == "net"
    assert sharded.totals.params == saved["params"] == 64 * 200 + 200 + 200 * 96 + 96 + 4 * 96 + 96 * 10 + 10
    assert sharded.variables == single.variables and sharded.layers == single.layers
    assert [v.path for v in sharded.variables][:3] == ["dense/0", "dense/1", "dense_1/0"]  # Keras's group names
    a, b = (model_stats(str(folder / name)) for name in ("net.weights.json", "net.weights.h5"))
    assert [(v.info, v.moments, v.histogram) for v in a.variables] == [(v.info, v.moments, v.histogram)
                                                                       for v in b.variables]  # fmt: skip
    assert a.layers == b.layers and a.flags == b.flags == ()
    assert figures(saved["values"]) == sorted((v.info.shape, round(v.moments.mean, 9), round(v.moments.std, 9))
                                              for v in a.variables)  # fmt: skip


@pytest.mark.tf
def test_sharded_values_are_keras_arrays(saved: dict) -> None:
    from modelscope.load.weights_h5 import open_weights

    traced, values = open_weights(str(saved["folder"] / "net.weights.json"))
    read = [value.tobytes() for _, value in values(traced.variables)]
    assert sorted(read) == sorted(w.tobytes() for w in saved["values"])


@pytest.mark.tf
def test_cli_reads_shards_without_tensorflow(saved: dict, cli_env: dict[str, str]) -> None:
    code = ("import sys\nfrom modelscope.cli import main\nfor cmd in ('summary', 'stats'):\n    try:\n"
            "        main([cmd, 'net.weights.json'])\n    except SystemExit as e:\n        assert e.code == 0, e.code\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=saved["folder"], env=cli_env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("net (weights file, no architecture)")
    assert f"Total params: {saved['params']:,} " in result.stdout and "No health flags." in result.stdout


@pytest.mark.tf
def test_weights_option_loads_a_sharded_checkpoint_and_nothing_is_written(saved: dict, cli_env) -> None:
    folder = saved["folder"]
    before = snapshot(folder)
    result = run(["stats", "net.py", "--weights", "net.weights.json", "--format", "json"], folder, cli_env)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)["variables"]
    assert sorted((tuple(v["shape"]), round(v["mean"], 9), round(v["std"], 9)) for v in got) == figures(saved["values"])
    assert {v["path"] for v in got} >= {"wide/kernel", "inner/proj/bias", "inner/norm/moving_variance"}
    same = run(["diff", "net.py", "net.py", "--weights-a", "net.weights.json", "--weights-b", "net.weights.h5"],
               folder, cli_env)  # fmt: skip
    assert same.returncode == 0, same.stderr
    assert "Weights: 10 variables compared, 0 changed" in same.stdout
    files = run(["diff", "net.weights.json", "net.weights.h5"], folder, cli_env)
    assert files.returncode == 0 and "0 changed" in files.stdout, files.stderr
    for args in (["summary", "net.weights.json"], ["graph", "net.weights.json", "-o", "-", "--format", "dot"]):
        assert run(args, folder, cli_env).returncode == 0
    refused = run(["stats", "net.weights.json", "-o", "net_00001.weights.h5"], folder, cli_env)
    assert refused.returncode == 2 and "would overwrite net_00001.weights.h5, which this run reads" in refused.stderr
    assert snapshot(folder) == before


# -- checkpoints written with h5py: hostile ones, memory, no TensorFlow ---------------------------


def write_sharded(folder: Path, shards: dict[str, dict[str, np.ndarray]], name: str = "x") -> Path:
    """Shards in Keras 3's layout (vars groups named) and the index naming each group's shards."""
    import h5py

    folder.mkdir(parents=True, exist_ok=True)
    weight_map: dict[str, list[str]] = {}
    for shard, datasets in shards.items():
        with h5py.File(folder / shard, "w") as f:
            for key, value in datasets.items():
                f.create_dataset(key, data=value)
                group = key.rpartition("/")[0]
                f[group].attrs["name"] = group.split("/")[-2]
                weight_map.setdefault(f"/{group}", []).append(shard)
    index = folder / f"{name}.weights.json"
    index.write_text(json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))
    return index


def small_checkpoint(folder: Path) -> Path:
    rng = np.random.default_rng(1)
    return write_sharded(folder, {
        "x_00000.weights.h5": {"layers/dense/vars/0": rng.standard_normal((40, 30)).astype("float32"),
                               "layers/dense/vars/1": np.zeros(30, "float32")},
        "x_00001.weights.h5": {"layers/block/layers/dense/vars/0": rng.standard_normal((30, 8)),
                               "layers/dense/vars/2": np.ones(3, "float16")},
    })  # fmt: skip


def test_summary_and_stats_of_shards_written_by_h5py_need_no_tensorflow(tmp_path: Path, cli_env) -> None:
    small_checkpoint(tmp_path)
    code = ("import sys\nfrom modelscope.cli import main\ntry:\n    main(['stats', 'x.weights.json', '--format', "
            "'json'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=cli_env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    got = [(v["path"], v["shape"], v["dtype"]) for v in json.loads(result.stdout)["variables"]]
    assert got == [("block/dense/0", [30, 8], "float64"), ("dense/0", [40, 30], "float32"),
                   ("dense/1", [30], "float32"), ("dense/2", [3], "float16")]  # fmt: skip


def test_a_report_saved_as_weights_json_is_still_a_report(tmp_path: Path, cli_env) -> None:
    small_checkpoint(tmp_path)
    saved = run(["summary", "x.weights.json", "--format", "json", "-o", "report.weights.json"], tmp_path, cli_env)
    assert saved.returncode == 0, saved.stderr
    again, direct = (run(["summary", name], tmp_path, cli_env) for name in ("report.weights.json", "x.weights.json"))
    assert again.returncode == 0 and again.stdout == direct.stdout, again.stderr


def _outside(tmp_path: Path) -> str:
    small_checkpoint(tmp_path / "other")
    return str(tmp_path / "other" / "x_00000.weights.h5")


HOSTILE = {  # case -> (index content, or a function making the folder; words of the message)
    "traversal": ({"weight_map": {"/layers/d/vars": ["../other/x_00000.weights.h5"]}}, "is not a plain file name"),
    "absolute": (lambda tmp: {"weight_map": {"/layers/d/vars": [_outside(tmp)]}}, "is not a plain file name"),
    "backslash": ({"weight_map": {"/layers/d/vars": ["..\\x_00000.weights.h5"]}}, "is not a plain file name"),
    "not a string": ({"weight_map": {"/layers/d/vars": [7]}}, "the shard name a JSON int is not a plain file name"),
    "not h5": ({"weight_map": {"/layers/d/vars": ["x.weights.json"]}}, "is not an .h5 file"),
    "missing": ({"weight_map": {"/layers/d/vars": ["x_00000.weights.h5", "x_00007.weights.h5"]}},
                "its shard x_00007.weights.h5 is missing from"),
    "not json": ("{oops", "not valid JSON (JSONDecodeError"),
    "map not a dict": ({"weight_map": ["x_00000.weights.h5"]}, "its weight_map is missing or not an object"),
    "empty map": ({"weight_map": {}}, "the index lists no shards"),
    "too many shards": ({"weight_map": {f"/l{i}/vars": f"s{i}.h5" for i in range(10_001)}}, "more than the 10,000"),
    "huge index": ({"weight_map": {"/layers/d/vars": "x_00000.weights.h5"}, "pad": " " * 20_000},
                   "MODELSCOPE_MAX_CONFIG_MB"),
    "symlink out": ("symlink", "is a symbolic link out of the index's folder"),
    "fifo": ("fifo", "is not a regular file"),
    "twice": ("twice", "is in two shards (x_00000.weights.h5 and y.weights.h5)"),
}  # fmt: skip


def _hostile_folder(tmp_path: Path, case: str) -> Path:
    folder = tmp_path / "ckpt"
    small_checkpoint(folder)
    content, _ = HOSTILE[case]
    index = folder / "x.weights.json"
    if content == "symlink":
        os.symlink(_outside(tmp_path), folder / "link.weights.h5")
        content = {"weight_map": {"/layers/d/vars": ["x_00000.weights.h5", "link.weights.h5"]}}
    elif content == "fifo":
        os.mkfifo(folder / "pipe.weights.h5")
        content = {"weight_map": {"/layers/d/vars": ["pipe.weights.h5"]}}
    elif content == "twice":
        (folder / "y.weights.h5").write_bytes((folder / "x_00000.weights.h5").read_bytes())
        content = {"weight_map": {"/layers/dense/vars": ["x_00000.weights.h5", "y.weights.h5"]}}
    elif callable(content):
        content = content(tmp_path)
    index.write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_index_is_a_one_line_error(tmp_path: Path, cli_env, case: str) -> None:
    folder = _hostile_folder(tmp_path, case)
    env = dict(cli_env, MODELSCOPE_MAX_CONFIG_MB="0.01") if case == "huge index" else cli_env  # 10 KiB
    before = snapshot(folder)
    for command in ("summary", "stats"):
        result = run([command, "x.weights.json"], folder, env)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert HOSTILE[case][1] in result.stderr, result.stderr
        assert result.stderr.startswith("modelscope: error: ") and len(result.stderr.strip().splitlines()) == 1
    assert snapshot(folder) == before


def test_hostile_index_given_as_weights_is_refused_before_keras_reads_it(tmp_path: Path, cli_env) -> None:
    folder = _hostile_folder(tmp_path, "traversal")
    (folder / "net.py").write_text("raise SystemExit('never run')\n")
    result = run(["stats", "net.py", "--weights", "x.weights.json"], folder, cli_env)
    assert result.returncode == 1 and "is not a plain file name" in result.stderr, result.stderr
    result = run(["diff", "net.py", "net.py", "--weights-b", "x.weights.json"], folder, cli_env)
    assert result.returncode == 2 and "is not a plain file name" in result.stderr, result.stderr


def test_a_variable_claiming_more_than_memory_is_summarised_not_read(tmp_path: Path, cli_env) -> None:
    import h5py

    index = small_checkpoint(tmp_path)
    with h5py.File(tmp_path / "x_00001.weights.h5", "a") as f:
        f.create_dataset("layers/huge/vars/0", shape=(2**40,), dtype="float32")  # never allocated: a small file
    data = json.loads(index.read_text())
    data["weight_map"]["/layers/huge/vars"] = ["x_00001.weights.h5"]
    index.write_text(json.dumps(data))
    summary = run(["summary", "x.weights.json"], tmp_path, cli_env)
    assert summary.returncode == 0 and "1,099,511,629," in summary.stdout, summary.stderr
    stats = run(["stats", "x.weights.json"], tmp_path, cli_env)
    assert stats.returncode == 1 and "claims 4,096.0 GiB, more than this machine's memory" in stats.stderr


def test_stats_hold_at_most_the_largest_variable(tmp_path: Path, monkeypatch) -> None:
    """The reader reads ahead only while the values alive (handed out, or read ahead) fit in the
    largest variable; compute_stats drops each value before asking for the next."""
    from modelscope.load import weights_sharded

    sizes = {"a": 1000, "b": 200, "c": 300, "d": 4000, "e": 100, "f": 2500, "g": 50}  # float64 elements
    write_sharded(tmp_path, {f"x_{i:05}.weights.h5": {f"layers/{k}/vars/0": np.full(n, i + 1.0)}
                             for i, (k, n) in enumerate(sizes.items())})  # fmt: skip
    alive: list[weakref.ref] = []
    peaks: list[int] = []
    real = weights_sharded.read_value

    def tracked(*args, **kwargs):
        held = sum(r().nbytes for r in alive if r() is not None)
        value = real(*args, **kwargs)
        peaks.append(held + value.nbytes if held else 0)
        alive.append(weakref.ref(value))
        return value

    monkeypatch.setattr(weights_sharded, "read_value", tracked)
    result = model_stats(str(tmp_path / "x.weights.json"))
    assert [v.moments.count for v in result.variables] == list(sizes.values())
    assert max(peaks) <= 8 * max(sizes.values())  # never more than the largest (4000 float64) together
    assert all(r() is None for r in alive)


def test_spectral_and_dead_units_copy_no_kernel_and_keep_their_figures(monkeypatch) -> None:
    from modelscope.analysis import spectral as sp
    from modelscope.analysis.stats import _dead_units

    monkeypatch.setattr(sp, "COPY_LIMIT", 0)  # as for a kernel too large to copy: converted block by block

    rng = np.random.default_rng(2)
    kernel = rng.standard_normal((1200, 1100)).astype(np.float16)
    half, full = sp.spectral(kernel, 1.0), sp.spectral(kernel.astype(np.float32), 1.0)
    assert half is not None and full is not None and half.method == full.method == "block-power-iteration"
    assert half.spectral_norm == pytest.approx(full.spectral_norm, rel=1e-5)
    transpose = rng.standard_normal((3, 3, 16, 8)).astype(np.float32)  # Conv2DTranspose: (h, w, out, in)
    transpose[:, :, [2, 5, 11], :] = 0.0
    expected = int((np.abs(np.moveaxis(transpose, -2, -1)).reshape(-1, 16) == 0).all(axis=0).sum())
    assert _dead_units(transpose, -2, 0.0) == expected == 3
    dense = rng.standard_normal((300, 40)).astype(np.float32)
    dense[:, [0, 39]] = 0.0
    assert _dead_units(dense, -1, 0.0) == 2 and _dead_units(dense.T.copy(), -2, 0.0) == 2


def _blocks_checkpoint(folder: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """Twelve blocks written in block order (as Keras writes them), so name order (blocks_10 before
    blocks_2) is not the order on disk; values differ per block and sizes vary."""
    rng = np.random.default_rng(11)
    values = {f"layers/blocks_{i}/vars/0": (rng.standard_normal((50 + 7 * i, 16)) + i).astype("float32")
              for i in range(12)}  # fmt: skip
    keys = list(values)
    return write_sharded(folder, {"x_00000.weights.h5": dict((k, values[k]) for k in keys[:6]),
                                  "x_00001.weights.h5": dict((k, values[k]) for k in keys[6:])}), values  # fmt: skip


def test_values_a_consumer_keeps_are_never_overwritten(tmp_path: Path) -> None:
    """Values kept (as weights_diff keeps A's) stay intact while later ones are read ahead."""
    from modelscope.api import inspect
    from modelscope.load.weights_h5 import open_weights

    index, written = _blocks_checkpoint(tmp_path)
    _, reader = open_weights(str(index))
    report = inspect(str(index))
    kept = list(reader(report.variables))  # every value held at once
    assert len(kept) == 12
    for info, value in kept:
        key = f"layers/{info.layer.replace('/', '/layers/')}/vars/0"
        np.testing.assert_array_equal(value, written[key])


def test_stats_read_in_storage_order_and_report_in_report_order(tmp_path: Path) -> None:
    from modelscope.analysis.stats import compute_stats
    from modelscope.api import inspect
    from modelscope.load.weights_h5 import open_weights

    index, written = _blocks_checkpoint(tmp_path)
    _, reader = open_weights(str(index))
    report = inspect(str(index))
    names = [info.layer for info in report.variables]
    assert names.index("blocks_10") < names.index("blocks_2")  # name order, as Keras's loader walks it
    on_disk = [info.layer for info, _ in reader(report.variables, storage_order=True)]
    assert on_disk == [f"blocks_{i}" for i in range(12)]
    result = model_stats(str(index))
    in_order = compute_stats(report, reader(report.variables))
    assert [v.info.path for v in result.variables] == [info.path for info in report.variables]
    assert result.variables == in_order.variables and result.layers == in_order.layers
    means = {v.info.layer: v.moments.mean for v in result.variables}
    for key, value in written.items():
        assert means[key.split("/")[1]] == pytest.approx(float(value.mean(dtype=np.float64)), rel=1e-12)


def test_large_contiguous_values_are_mapped_not_copied(tmp_path: Path) -> None:
    """A contiguous, unfiltered dataset of 1 MiB or more is read in place from the file (read-only,
    the same values as HDF5 reads); chunked or compressed ones are read by HDF5 as before."""
    import h5py

    from modelscope.load.mapped import mapped

    rng = np.random.default_rng(3)
    big = rng.standard_normal((512, 1024)).astype("float32")  # 2 MiB
    path = tmp_path / "w.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("plain", data=big)
        f.create_dataset("chunked", data=big, chunks=(64, 1024))
        f.create_dataset("packed", data=big, compression="gzip")
        f.create_dataset("small", data=big[:2])
    with h5py.File(path, "r") as f:
        value = mapped(f, f["plain"])
        assert value is not None and not value.flags.writeable
        np.testing.assert_array_equal(value, big)
        with pytest.raises(ValueError):
            value[0, 0] = 1.0  # the user's file can never be written through it
        assert [mapped(f, f[k]) for k in ("chunked", "packed", "small")] == [None, None, None]
    del value
    index = write_sharded(tmp_path / "ck", {"x_00000.weights.h5": {"layers/dense/vars/0": big,
                                                                    "layers/dense/vars/1": big[0]}})  # fmt: skip
    result = model_stats(str(index))
    kernel = result.variables[0].moments
    assert kernel.mean == pytest.approx(float(big.mean(dtype=np.float64)), rel=1e-12)
    assert kernel.max == float(big.max()) and kernel.count == big.size


def test_a_truncated_file_is_refused_not_mapped_past_its_end(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """Mapping past the end of a file would kill the process (SIGBUS): a shard cut short is a
    one-line error, never a crash (HDF5 refuses it when it opens it; ``mapped`` checks each
    dataset's bytes against the file's size besides)."""
    big = np.random.default_rng(4).standard_normal((512, 1024)).astype("float32")
    index = write_sharded(tmp_path, {"x_00000.weights.h5": {"layers/dense/vars/0": big}})
    shard = tmp_path / "x_00000.weights.h5"
    os.truncate(shard, shard.stat().st_size - 4096)
    result = run(["stats", index.name], tmp_path, cli_env)
    assert result.returncode == 1, result.stderr
    assert "x_00000.weights.h5" in result.stderr and "Traceback" not in result.stderr
