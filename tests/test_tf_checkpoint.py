"""TensorFlow checkpoints and keras_metadata.pb read without TensorFlow (modelscope.load.tf_checkpoint,
modelscope.load.keras_metadata): against TensorFlow's own reader on files tf_keras writes, and
against hand-built hostile bytes (these need no TensorFlow)."""

from __future__ import annotations

import contextlib
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from modelscope.errors import LoadError
from modelscope.load import keras_metadata as km
from modelscope.load import tf_checkpoint as tc

# -- hand-built files: a protobuf and LevelDB-table writer -------------------------------------------


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _field(number: int, value: int | bytes | str, fixed32: bool = False) -> bytes:
    if isinstance(value, int):
        if fixed32:
            return _varint(number << 3 | 5) + struct.pack("<I", value)
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _entry(dtype: int, shape: tuple[int, ...], shard: int, offset: int, size: int, crc: int = 0) -> bytes:
    dims = b"".join(_field(2, _field(1, d)) for d in shape)
    return (
        _field(1, dtype)
        + _field(2, dims)
        + _field(3, shard)
        + _field(4, offset)
        + _field(5, size)
        + _field(6, crc, True)
    )


def _mask(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _block(items: list[tuple[bytes, bytes]], restart_every: int = 4, compression: int = 0) -> bytes:
    out, restarts, last = bytearray(), [], b""
    for i, (key, value) in enumerate(items):
        shared = 0
        if i % restart_every:
            while shared < min(len(key), len(last)) and key[shared] == last[shared]:
                shared += 1
        else:
            restarts.append(len(out))
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value)) + key[shared:] + value
        last = key
    out += b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))
    body = bytes(out) + bytes([compression])
    return body + struct.pack("<I", _mask(tc.crc32c(body)))


def _table(items: list[tuple[bytes, bytes]], per_block: int = 5, compression: int = 0) -> bytes:
    data, index = bytearray(), []
    for start in range(0, len(items), per_block):
        chunk = items[start : start + per_block]
        block = _block(chunk, compression=compression)
        index.append((chunk[-1][0], _varint(len(data)) + _varint(len(block) - 5)))
        data += block
    meta = len(data)
    data += _block([])
    handles = _varint(meta) + _varint(len(data) - meta - 5)
    index_offset = len(data)
    data += _block(index, restart_every=1)
    handles += _varint(index_offset) + _varint(len(data) - index_offset - 5)
    return bytes(data) + handles.ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57)


_ENUM = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6, "int64": 9, "bool": 10,
         "float16": 19, "uint16": 17, "complex64": 8}  # fmt: skip


def _write(prefix: Path, tensors: dict[str, np.ndarray], *, header: bytes | None = None,
           extra: dict[str, bytes] | None = None, num_shards: int = 1, **table: int) -> Path:  # fmt: skip
    """A checkpoint of ``tensors`` (one data shard) plus ``extra`` raw index values."""
    data, items = bytearray(), {}
    for key, value in tensors.items():
        raw = value.astype(value.dtype.newbyteorder("<")).tobytes()
        items[key] = _entry(_ENUM[value.dtype.name], value.shape, 0, len(data), len(raw), _mask(tc.crc32c(raw)))
        data += raw
    items.update(extra or {})
    head = _field(1, num_shards) if header is None else header
    prefix.with_name(prefix.name + f".data-00000-of-{num_shards:05d}").write_bytes(bytes(data))
    body = [(b"", head)] + [(k.encode(), v) for k, v in sorted(items.items())]
    prefix.with_name(prefix.name + ".index").write_bytes(_table(body, **table))
    return prefix


@pytest.fixture
def small(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    tensors = {f"layer_with_weights-{i}/kernel/.ATTRIBUTES/VARIABLE_VALUE": rng.standard_normal((i + 1, 3), "float32")
               for i in range(12)}  # fmt: skip
    tensors["counts"] = np.arange(-5, 5, dtype=np.int64)
    tensors["flags"] = np.array([True, False, True])
    tensors["half"] = rng.standard_normal(7).astype(np.float16)
    return _write(tmp_path / "variables", tensors)


def _raises(call, *args, match: str | None = None) -> str:
    with pytest.raises(LoadError, match=match) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- fast: hand-built files -------------------------------------------------------------------------


def test_crc32c_and_a_handmade_checkpoint(small: Path) -> None:
    assert tc.crc32c(b"123456789") == 0xE3069283  # the standard check value of CRC-32C
    entries = tc.read_index(small)
    assert [e.key for e in entries] == sorted(e.key for e in entries) and len(entries) == 15
    for e in entries:
        value = tc.read_value(small.parent, e, verify=True)  # the variables directory works too
        assert value.shape == e.shape and value.dtype.name == e.dtype
    assert tc.read_value(small, entries[0]).tolist() == list(range(-5, 5))
    assert tc.read_value(small, entries[1]).tolist() == [True, False, True]


def test_bfloat16_comes_back_as_float32_exactly(tmp_path: Path) -> None:
    wanted = np.array([1.5, -2.25, 2.0**100, -(2.0**-120)], np.float32)
    bits = (wanted.view(np.uint32) >> 16).astype("<u2").tobytes()  # these four are exact in bfloat16
    prefix = _write(tmp_path / "ckpt", {}, extra={"bf": _entry(14, (4,), 0, 0, 8)})
    prefix.with_name("ckpt.data-00000-of-00001").write_bytes(bits)
    (entry,) = tc.read_index(prefix)
    assert entry.dtype == "bfloat16"
    np.testing.assert_array_equal(tc.read_value(prefix, entry), wanted)


def test_every_truncation_and_every_flipped_byte_is_a_load_error(small: Path) -> None:
    index = small.with_name("variables.index")
    good, expected = index.read_bytes(), tc.read_index(small)
    for cut in range(len(good)):
        index.write_bytes(good[:cut])
        _raises(tc.read_index, small, match="damaged or truncated TensorFlow checkpoint .*save the model again")
    unnoticed = []
    for at in range(len(good)):
        index.write_bytes(good[:at] + bytes([good[at] ^ 0x5A]) + good[at + 1 :])
        try:
            assert tc.read_index(small) == expected
            unnoticed.append(at)
        except LoadError:
            pass
    footer_padding = [at for at in range(len(good) - 48, len(good) - 8) if good[at] == 0]
    assert unnoticed == footer_padding  # every block byte is under a checksum


def test_random_garbage_is_a_load_error(tmp_path: Path, small: Path) -> None:
    rng = np.random.default_rng(7)
    good = small.with_name("variables.index").read_bytes()
    bad = tmp_path / "bad"
    for size in (0, 1, 47, 48, 49, 200, 5000):
        bad.with_name("bad.index").write_bytes(rng.bytes(size))
        _raises(tc.read_index, bad)
    for _ in range(200):  # a few random bytes changed in a valid index: never an exception but LoadError
        data = bytearray(good)
        for at in rng.integers(0, len(data), 3):
            data[at] = int(rng.integers(0, 256))
        bad.with_name("bad.index").write_bytes(bytes(data))
        with contextlib.suppress(LoadError):
            tc.read_index(bad)


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        (_entry(1, (10**15,), 0, 0, 4), "has 4 bytes, but its shape"),
        (_entry(1, (2,) * 33, 0, 0, 4 << 33), "rank above 32"),
        (_entry(1, (-1, 4), 0, 0, 16), "negative"),
        (_entry(1, (4,), 1, 0, 16), "names shard 1 of 1"),
        (_entry(1, (4,), 0, -8, 16), "offset -8"),
        (b"\x08" + b"\xff" * 10 + b"\x01", "varint longer than 10 bytes"),
        (b"\x12\x7f\x00", "longer than its message"),
        (b"\x0b", "wire type 3"),
    ],
)
def test_hostile_entries(tmp_path: Path, entry: bytes, match: str) -> None:
    prefix = _write(tmp_path / "ckpt", {}, extra={"x": entry})
    _raises(tc.read_index, prefix, match=match)


def test_values_past_the_data_and_in_missing_shards(tmp_path: Path) -> None:
    huge = _entry(1, (10**15,), 0, 0, 4 * 10**15)  # consistent, but no such data: refused before allocating
    past = _entry(1, (4,), 0, 1 << 40, 16)
    other = _entry(1, (4,), 1, 0, 16)  # shard 1 of 2, whose file is missing
    prefix = _write(tmp_path / "ckpt", {}, extra={"a": huge, "b": past, "c": other}, header=_field(1, 2), num_shards=2)
    a, b, c = tc.read_index(prefix)
    assert a.shape == (10**15,)
    _raises(tc.read_value, prefix, a, match="ends past the end of ckpt.data-00000-of-00002")
    _raises(tc.read_value, prefix, b, match="ends past the end")
    _raises(tc.read_value, prefix, c, match="ckpt.data-00001-of-00002: the checkpoint's data file is missing")


def test_headers_and_blocks_refused(tmp_path: Path, small: Path) -> None:
    for header, match in [(_field(1, 0), "claims 0 shards"), (_field(1, 1) + _field(2, 1), "big-endian"),
                          (_field(1, 1) + _field(3, _field(2, 7)), "version 7 is newer")]:  # fmt: skip
        _raises(tc.read_index, _write(tmp_path / "h", {}, header=header), match=match)
    _raises(tc.read_index, _write(tmp_path / "s", {"x": np.ones(2, np.float32)}, compression=1), match="snappy")
    _raises(tc.read_index, _write(tmp_path / "c", {"x": np.ones(2, np.float32)}, compression=9), match="compression 9")
    index = tmp_path / "noheader.index"
    index.write_bytes(_table([(b"a", _entry(1, (), 0, 0, 4))]))
    _raises(tc.read_index, tmp_path / "noheader", match="header")
    index.write_bytes(_table([(b"", _field(1, 1)), (b"b", b""), (b"a", b"")], per_block=1))
    _raises(tc.read_index, tmp_path / "noheader", match="out of order")
    _raises(tc.read_index, tmp_path / "nothing", match="no TensorFlow checkpoint here")


def test_strings_slices_and_the_object_graph(tmp_path: Path) -> None:
    child = _field(1, _field(1, 1) + _field(2, "layer_with_weights-0"))
    variable = _field(2, _field(1, "VARIABLE_VALUE") + _field(2, "dense/kernel") + _field(3, "k"))
    graph = _field(1, child) + _field(1, variable)
    lengths = _varint(len(graph))
    blob = lengths + struct.pack("<I", _mask(tc.crc32c(struct.pack("<I", len(graph))))) + graph
    og = _entry(7, (), 0, 0, len(blob))
    sliced = _entry(1, (4, 2), 0, 0, 0) + _field(7, b"\n\x02\x10\x02")
    prefix = _write(tmp_path / "ckpt", {}, extra={tc.OBJECT_GRAPH_KEY: og, "s": sliced})
    prefix.with_name("ckpt.data-00000-of-00001").write_bytes(blob)
    entries = tc.read_index(prefix)
    assert [(e.key, e.dtype, e.sliced) for e in entries] == [
        (tc.OBJECT_GRAPH_KEY, "string", False),
        ("s", "float32", True),
    ]
    _raises(tc.read_value, prefix, entries[0], match="a string tensor, not numbers")
    _raises(tc.read_value, prefix, entries[1], match="saved in slices")
    assert tc.read_object_graph(prefix) == [
        {"children": [{"node_id": 1, "local_name": "layer_with_weights-0"}], "attributes": [], "slot_variables": []},
        {"children": [], "attributes": [{"name": "VARIABLE_VALUE", "full_name": "dense/kernel", "checkpoint_key": "k"}],
         "slot_variables": []},
    ]  # fmt: skip
    prefix.with_name("ckpt.data-00000-of-00001").write_bytes(blob[:2] + bytes([blob[2] ^ 1]) + blob[3:])
    _raises(tc.read_object_graph, prefix, match="lengths' checksum")  # the crc after the lengths
    dangling = _field(1, _field(1, _field(1, 5)))
    blob = _varint(len(dangling)) + struct.pack("<I", _mask(tc.crc32c(struct.pack("<I", len(dangling))))) + dangling
    _write(prefix, {}, extra={tc.OBJECT_GRAPH_KEY: _entry(7, (), 0, 0, len(blob))})
    prefix.with_name("ckpt.data-00000-of-00001").write_bytes(blob)
    _raises(tc.read_object_graph, prefix, match="refers to nodes it does not have")


def _metadata(*nodes: tuple[int, str, str, str]) -> bytes:
    return b"".join(_field(1, _field(2, i) + _field(3, p) + _field(4, k) + _field(5, m)) for i, p, k, m in nodes)


def test_keras_metadata_handmade_and_hostile(tmp_path: Path) -> None:
    file = tmp_path / "keras_metadata.pb"
    meta = json.dumps({"class_name": "Dense", "name": "d", "config": {"units": 3}})
    file.write_bytes(_metadata((0, "root", "_tf_keras_network", "{}"), (3, "root.layer-0", "_tf_keras_layer", meta)))
    nodes = km.read_keras_metadata(tmp_path)
    expected = [(0, "root", "_tf_keras_network"), (3, "root.layer-0", "_tf_keras_layer")]
    assert [(n.node_id, n.node_path, n.identifier) for n in nodes] == expected
    assert nodes[1].metadata["config"] == {"units": 3}
    graph: list[tc.TrackableNode] = [
        {"children": [{"node_id": 2, "local_name": "layer-0"}], "attributes": [], "slot_variables": []},
        {"children": [], "attributes": [{"name": "VARIABLE_VALUE", "full_name": "d/k", "checkpoint_key": "K"}],
         "slot_variables": []},
        {"children": [{"node_id": 4, "local_name": "variables"}, {"node_id": 4, "local_name": "trainable_variables"}],
         "attributes": [], "slot_variables": []},
        {"children": [], "attributes": [], "slot_variables": []},
        {"children": [{"node_id": 1, "local_name": "0"}], "attributes": [], "slot_variables": []},
    ]  # fmt: skip
    assert km.resolve_node(graph, nodes[1]) == 2  # the path wins over a node_id that disagrees
    assert km.node_variables(graph, nodes[1]) == [km.NodeVariable("K", "d/k", True)]
    for bad, match in [
        (_metadata((0, "root", "x", "{")), "not JSON"),
        (_metadata((0, "root", "x", "[1]")), "JSON object"),
        (_metadata((0, "root", "x", "[" * 100_000)), "not JSON"),
        (b"", "records no objects"),
        (_metadata((0, "tree", "x", "{}")), "'tree'"),
        (_metadata((0, "root", "x", "{}"))[:-1], "longer"),
        (b"\x0a\x02\x12\x00", "wrong wire type"),
    ]:
        file.write_bytes(bad)
        assert "save the model again" in _raises(km.read_keras_metadata, file, match=match)
    _raises(km.read_keras_metadata, tmp_path / "elsewhere", match="no keras_metadata.pb")


# -- against TensorFlow, on files tf_keras writes ------------------------------------------------------


def tf_files(test):
    """Needs TensorFlow; all in one xdist worker, which writes the files once."""
    return pytest.mark.tf(pytest.mark.xdist_group("tf_checkpoint")(test))


def _odd_layer(tf, tf_keras):
    """A layer holding variables of every dtype a checkpoint stores, and a string."""

    class Odd(tf_keras.layers.Layer):
        def build(self, shape):
            rng = np.random.default_rng(0)
            for dt in ("int8", "int16", "int32", "int64", "uint8", "uint16"):
                value = rng.integers(-100 if dt.startswith("int") else 0, 100, (2, 3))
                setattr(self, f"w_{dt}", tf.Variable(value.astype(dt), trainable=False, name=dt))
            for dt in ("float16", "float64", "complex64"):
                value = rng.standard_normal((2, 3)) + (1j * rng.standard_normal((2, 3)) if dt == "complex64" else 0)
                setattr(self, f"w_{dt}", tf.Variable(value.astype(dt), trainable=False, name=dt))
            self.w_bf16 = tf.Variable(tf.cast(rng.standard_normal((3, 2)), tf.bfloat16), trainable=False, name="bf16")
            self.w_bool = tf.Variable(rng.random(5) > 0.5, trainable=False, name="flags")
            self.label = tf.Variable("hello", trainable=False, name="label")
            self.k = self.add_weight("k", (shape[-1], 4))

        def call(self, x):
            return tf.matmul(x, self.k)

    return Odd


@pytest.fixture(scope="session")
def saved(tmp_path_factory) -> dict[str, tuple[Path, object]]:
    """Keras-2 SavedModels written by tf_keras (and a sharded plain checkpoint), with their live models."""
    tf_keras = pytest.importorskip("tf_keras")
    import tensorflow as tf

    L, root, out = tf_keras.layers, tmp_path_factory.mktemp("tf_checkpoint"), {}
    tf_keras.backend.clear_session()
    stack = [L.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu"), L.BatchNormalization(), L.MaxPooling2D()]
    seq = tf_keras.Sequential([*stack, L.Flatten(), L.Dense(5, activation="softmax")], name="seq_cnn")
    seq.compile("adam", "sparse_categorical_crossentropy")
    seq.fit(np.random.rand(8, 12, 12, 1), np.arange(8) % 5, verbose=0)  # moving stats, slots, int64 iterations
    x = L.Input((6,), name="features")
    h = L.Dense(8, activation="relu", name="d1")(x)
    s = L.Add(name="res")([h, L.Dense(8, name="d2", trainable=False)(h)])
    functional = tf_keras.Model(x, [L.Dense(3, name="cls")(s), L.Dense(1, name="reg")(s)], name="two_heads")

    class Hybrid(tf_keras.Model):
        def __init__(self):
            super().__init__(name="hybrid")
            self.fe = tf_keras.Sequential([L.Conv2D(4, 3), L.MaxPooling2D()])
            self.flat = L.Flatten()
            self.blocks = [L.Dense(6, name="b0"), L.LayerNormalization(name="b1")]
            self.odd = _odd_layer(tf, tf_keras)(name="odd")

        def call(self, t):
            t = self.flat(self.fe(t))
            for block in self.blocks:
                t = block(t)
            return self.odd(t)

    hybrid = Hybrid()
    hybrid(tf_keras.Input((8, 8, 1)))
    for name, model in [("sequential", seq), ("functional", functional), ("hybrid", hybrid)]:
        model.save(root / name, save_format="tf")
        out[name] = (root / name, model)
    sharding = tf.train.experimental.MaxShardSizePolicy(max_shard_size=2000)
    tensors = {"big": tf.Variable(np.arange(1500, dtype=np.float32).reshape(15, 100)), "small": tf.Variable([1, 2])}
    prefix = tf.train.Checkpoint(**tensors).write(
        str(root / "sharded" / "ckpt"), options=tf.train.CheckpointOptions(experimental_sharding_callback=sharding)
    )
    out["sharded"] = (Path(prefix), None)
    return out


def _tf_prefix(path: Path) -> str:
    return str(path / "variables" / "variables") if path.is_dir() else str(path)


@tf_files
@pytest.mark.parametrize("name", ["sequential", "functional", "hybrid", "sharded"])
def test_index_and_values_equal_tensorflows(saved, name: str) -> None:
    import tensorflow as tf

    path = saved[name][0]
    reader = tf.train.load_checkpoint(_tf_prefix(path))
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    entries = tc.read_index(path)
    assert [e.key for e in entries] == sorted(shapes)
    assert {e.key: (list(e.shape), e.dtype) for e in entries} == {k: (shapes[k], dtypes[k].name) for k in shapes}
    if name == "sharded":
        assert {e.num_shards for e in entries} == {len(list(path.parent.glob("ckpt.data-*")))} and len(entries) > 1
    for e in entries:
        expected = reader.get_tensor(e.key)
        if e.sliced:
            assert name == "sharded"
        elif e.dtype == "string":
            assert tc.read_strings(path, e) == [expected]
        else:
            value = tc.read_value(path, e, verify=True)
            if e.dtype == "bfloat16":
                expected = expected.astype(np.float32)
            assert (value.dtype, value.shape, value.tobytes()) == (expected.dtype, expected.shape, expected.tobytes())
    assert name != "hybrid" or {e.dtype for e in entries} >= {"bfloat16", "bool", "complex64", "uint16", "string"}


@tf_files
@pytest.mark.parametrize("name", ["sequential", "functional", "hybrid"])
def test_object_graph_and_node_ids_equal_tensorflows(saved, name: str) -> None:
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2, trackable_object_graph_pb2

    path = saved[name][0]
    blob = tf.train.load_checkpoint(_tf_prefix(path)).get_tensor(tc.OBJECT_GRAPH_KEY)
    proto = trackable_object_graph_pb2.TrackableObjectGraph.FromString(blob)
    ours = tc.read_object_graph(path)
    assert ours == [{"children": [{"node_id": c.node_id, "local_name": c.local_name} for c in n.children],
                     "attributes": [{"name": a.name, "full_name": a.full_name, "checkpoint_key": a.checkpoint_key}
                                    for a in n.attributes],
                     "slot_variables": [{"original_variable_node_id": s.original_variable_node_id,
                                         "slot_name": s.slot_name, "slot_variable_node_id": s.slot_variable_node_id}
                                        for s in n.slot_variables]} for n in proto.nodes]  # fmt: skip
    saved_model = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    objects = saved_model.meta_graphs[0].object_graph_def.nodes  # keras_metadata's node ids are these
    assert [[(c.node_id, c.local_name) for c in n.children] for n in objects] == [
        [(c["node_id"], c["local_name"]) for c in n["children"]] for n in ours
    ]  # the same ids in the checkpoint
    for node in km.read_keras_metadata(path):
        assert km.resolve_node(ours, node) == node.node_id


def _all_layers(layer) -> list:
    return [layer, *(sub for child in getattr(layer, "layers", ()) for sub in _all_layers(child))]


@tf_files
@pytest.mark.parametrize("name", ["sequential", "functional", "hybrid"])
def test_keras_metadata_equals_tf_keras(saved, name: str) -> None:
    from tf_keras.protobuf import saved_metadata_pb2

    path, model = saved[name]
    proto = saved_metadata_pb2.SavedMetadata.FromString((path / "keras_metadata.pb").read_bytes())
    nodes = km.read_keras_metadata(path)
    assert [(n.node_id, n.node_path, n.identifier, n.metadata) for n in nodes] == [
        (p.node_id, p.node_path, p.identifier, json.loads(p.metadata)) for p in proto.nodes
    ]
    layers = [n for n in nodes if n.identifier.startswith("_tf_keras_") and n.identifier != "_tf_keras_metric"]
    live = _all_layers(model)  # a Sequential's InputLayer is not in .layers, and not saved
    assert sorted((n.metadata["name"], n.metadata["class_name"]) for n in layers) == sorted(
        (layer.name, type(layer).__name__) for layer in live
    )
    graph, entries = tc.read_object_graph(path), {e.key: e for e in tc.read_index(path)}
    for node in layers:
        layer = next(layer for layer in live if layer.name == node.metadata["name"])
        variables = km.node_variables(graph, node)
        assert [(v.full_name, v.trainable) for v in variables] == [
            (w.name.removesuffix(":0"), any(w is t for t in layer.trainable_weights)) for w in layer.weights
        ]
        for v, w in zip(variables, layer.weights):
            if w.dtype.name != "string":
                live_value = w.numpy().astype(np.float32) if w.dtype.name == "bfloat16" else w.numpy()
                assert tc.read_value(path, entries[v.checkpoint_key]).tobytes() == live_value.tobytes()


@tf_files
def test_reading_imports_no_tensorflow(saved, cli_env) -> None:
    code = (
        "import sys\n"
        "from modelscope.load import keras_metadata as km, tf_checkpoint as tc\n"
        "for path in sys.argv[1:]:\n"
        "    graph = tc.read_object_graph(path)\n"
        "    for e in tc.read_index(path):\n"
        "        tc.read_strings(path, e) if e.dtype == 'string' else tc.read_value(path, e)\n"
        "    for node in km.read_keras_metadata(path):\n"
        "        km.node_variables(graph, node)\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'keras', 'google')]\n"
        "assert not heavy, heavy\n"
    )
    paths = [str(saved[name][0]) for name in ("sequential", "functional", "hybrid")]
    env = dict(cli_env, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code, *paths], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
