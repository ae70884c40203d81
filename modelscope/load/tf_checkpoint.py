"""TensorFlow V2 checkpoints (``variables/variables.index`` + ``.data-NNNNN-of-MMMMM``), read without TensorFlow.

The index is a LevelDB-format table (TF's ``core/lib/io``): a 48-byte footer (metaindex and index
block handles, magic ``0xdb4775248b80fb57``), blocks of prefix-compressed keys with restart points,
each followed by a compression byte and a masked crc32c (checked here). Its values are serialized
``tensorflow.BundleEntryProto`` s; the empty key holds the ``BundleHeaderProto``. The string tensor
``_CHECKPOINTABLE_OBJECT_GRAPH`` is a ``TrackableObjectGraph`` (:func:`read_object_graph`): which
object holds which checkpoint key. The protobuf wire format is decoded by :func:`decode` (also used
by :mod:`keras_metadata`); no TensorFlow, tf_keras or protobuf package is imported.

Every byte is hostile: lengths, offsets, varints, shapes and sizes are bounds-checked, sizes are
capped, and anything inconsistent is a :class:`LoadError` saying so. Limits: snappy-compressed
index blocks (TF never writes them) and big-endian bundles (TF's own reader refuses them too) are
refused; tensors stored in slices (``MaxShardSizePolicy``, TF1 partitioned variables) are listed
but not read; ``read_value`` reads numeric tensors only, ``bfloat16`` as ``float32`` (exact: the 16
bits shifted up; ``Entry.dtype`` still says ``bfloat16``); crc32c is pure Python (about 5 MB/s),
checked for every index block and, with ``verify=True``, for values.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from math import prod
from typing import Any, TypedDict

import numpy as np

from modelscope.errors import LoadError

__all__ = ["OBJECT_GRAPH_KEY", "Entry", "TrackableNode", "checkpoint_prefix", "crc32c", "decode", "read_index",
           "read_object_graph", "read_strings", "read_value"]  # fmt: skip

MAX_INDEX_BYTES = 64 << 20  # the index of a checkpoint of 100,000 variables is about 10 MB
MAX_ENTRIES = 500_000
MAX_STRING_TENSOR_BYTES = 256 << 20  # the object graph of the largest Keras models is a few MB
MAX_RANK = 32
_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"

# DataType enum -> name; _ITEMSIZE holds the ones read_value reads
_DTYPES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string", 8: "complex64",
           9: "int64", 10: "bool", 11: "qint8", 12: "quint8", 13: "qint32", 14: "bfloat16", 15: "qint16",
           16: "quint16", 17: "uint16", 18: "complex128", 19: "float16", 20: "resource", 21: "variant",
           22: "uint32", 23: "uint64", 24: "float8_e5m2", 25: "float8_e4m3fn", 29: "int4", 30: "uint4"}  # fmt: skip
_ITEMSIZE = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "complex64": 8, "complex128": 16,
             "bool": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8,
             "uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8}  # fmt: skip


class Corrupt(Exception):
    """Internal: what is wrong with the bytes; the public functions turn it into a LoadError."""


@dataclass(frozen=True)
class Entry:
    """One tensor of a checkpoint: its key, dtype name, shape and where its bytes are."""

    key: str
    dtype: str  # the numpy name; TF-only types by TF's name ("string", "resource", "qint8", ...)
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    num_shards: int = 1  # of the checkpoint, for the data file's name
    crc32c: int = 0  # masked crc32c of the stored bytes
    sliced: bool = False  # stored in slices (a sharding policy, TF1 partitioning): listed, not read


class ObjectRef(TypedDict):
    node_id: int
    local_name: str


class SerializedTensor(TypedDict):
    name: str  # VARIABLE_VALUE for a variable
    full_name: str  # the variable's name in TF ("dense/kernel:0" style, without ":0")
    checkpoint_key: str


class TrackableNode(TypedDict):
    children: list[ObjectRef]
    attributes: list[SerializedTensor]
    slot_variables: list[dict[str, Any]]  # original_variable_node_id, slot_name, slot_variable_node_id


# -- protobuf wire format -----------------------------------------------------------------------------

Schema = dict[int, tuple[str, Any, bool]]  # field number -> (name, kind or nested Schema, repeated)
_WIRE = {"int": 0, "uint": 0, "bool": 0, "fixed64": 1, "str": 2, "bytes": 2, "fixed32": 5}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise Corrupt("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift > 63:
            raise Corrupt("varint longer than 10 bytes")


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise Corrupt("protobuf field number 0")
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire in (1, 2, 5):
            if wire == 2:
                width, pos = _varint(buf, pos)
            else:
                width = 8 if wire == 1 else 4
            if width > len(buf) - pos:
                raise Corrupt("protobuf field longer than its message")
            value = buf[pos : pos + width] if wire == 2 else int.from_bytes(buf[pos : pos + width], "little")
            pos += width
        else:
            raise Corrupt(f"protobuf wire type {wire} is not supported")
        yield number, wire, value


def _convert(kind: Any, wire: int, value: int | bytes) -> Any:
    if wire != (2 if isinstance(kind, dict) else _WIRE[kind]):
        raise Corrupt(f"a protobuf field has the wrong wire type ({wire})")
    if isinstance(value, int):
        return bool(value) if kind == "bool" else value - (1 << 64) if kind == "int" and value >> 63 else value
    if isinstance(kind, dict):
        return decode(value, kind)
    try:
        return value.decode("utf-8") if kind == "str" else value
    except UnicodeDecodeError:
        raise Corrupt("a protobuf string is not UTF-8") from None


def decode(buf: bytes, schema: Schema) -> dict[str, Any]:
    """A protobuf message as a dict: fields named in ``schema`` (unknown ones skipped); absent scalars are
    0 / "" / b"" / False, absent messages None, repeated fields lists. Raises :class:`Corrupt`."""
    defaults = {"int": 0, "uint": 0, "bool": False, "fixed32": 0, "fixed64": 0, "str": "", "bytes": b""}
    out: dict[str, Any] = {name: [] if rep else defaults.get(kind) if isinstance(kind, str) else None
                           for name, kind, rep in schema.values()}  # fmt: skip
    for number, wire, value in _fields(buf):
        if number in schema:
            name, kind, repeated = schema[number]
            converted = _convert(kind, wire, value)
            if repeated:
                out[name].append(converted)
            else:
                out[name] = converted
    return out


_SHAPE: Schema = {2: ("dim", {1: ("size", "int", False)}, True), 3: ("unknown_rank", "bool", False)}
_ENTRY: Schema = {1: ("dtype", "uint", False), 2: ("shape", _SHAPE, False), 3: ("shard_id", "int", False),
                  4: ("offset", "int", False), 5: ("size", "int", False), 6: ("crc32c", "fixed32", False),
                  7: ("slices", "bytes", True)}  # fmt: skip
_VERSION: Schema = {1: ("producer", "int", False), 2: ("min_consumer", "int", False)}
_HEADER: Schema = {1: ("num_shards", "int", False), 2: ("endianness", "uint", False), 3: ("version", _VERSION, False)}
_OBJECT_GRAPH: Schema = {1: ("nodes", {
    1: ("children", {1: ("node_id", "int", False), 2: ("local_name", "str", False)}, True),
    2: ("attributes", {1: ("name", "str", False), 2: ("full_name", "str", False), 3: ("checkpoint_key", "str", False)},
        True),
    3: ("slot_variables", {1: ("original_variable_node_id", "int", False), 2: ("slot_name", "str", False),
                           3: ("slot_variable_node_id", "int", False)}, True)}, True)}  # fmt: skip


# -- crc32c (Castagnoli), as LevelDB masks it ---------------------------------------------------------


def _crc_entry(n: int) -> int:
    for _ in range(8):
        n = (n >> 1) ^ 0x82F63B78 if n & 1 else n >> 1
    return n


_CRC_TABLE = [_crc_entry(n) for n in range(256)]


def crc32c(data: bytes, crc: int = 0) -> int:
    """The crc32c of ``data`` (pure Python, about 10 MB/s: for index blocks and small tensors)."""
    crc ^= 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _unmask(masked: int) -> int:
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


# -- the table (index file) ---------------------------------------------------------------------------


def _handle(buf: bytes, pos: int) -> tuple[int, int, int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return offset, size, pos


def _block(data: bytes, offset: int, size: int) -> bytes:
    if offset + size + 5 > len(data) - _FOOTER:
        raise Corrupt("a block runs past the end of the file")
    contents = data[offset : offset + size + 1]  # with the compression byte, which the crc covers
    (masked,) = struct.unpack_from("<I", data, offset + size + 1)
    if crc32c(contents) != _unmask(masked):
        raise Corrupt(f"checksum mismatch in the block at byte {offset}")
    if contents[-1] == 1:
        raise Corrupt("snappy-compressed blocks are not supported (TensorFlow writes uncompressed ones)")
    if contents[-1] != 0:
        raise Corrupt(f"unknown block compression {contents[-1]}")
    return contents[:-1]


def _block_items(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise Corrupt("a block is shorter than its restart count")
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * restarts
    if restarts > (len(block) - 4) // 4:
        raise Corrupt("a block's restart count exceeds its size")
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        if shared > len(key) or unshared + length > end - pos:
            raise Corrupt("a block entry runs past its block")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + length]
        pos += length


def _table_items(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    if len(data) < _FOOTER:
        raise Corrupt(f"{len(data)} bytes, shorter than the {_FOOTER}-byte footer")
    footer = data[-_FOOTER:]
    if int.from_bytes(footer[-8:], "little") != _MAGIC:
        raise Corrupt("no table magic number at the end")
    meta_offset, meta_size, pos = _handle(footer, 0)
    _block(data, meta_offset, meta_size)  # the metaindex: TF writes no filters; only checked
    offset, size, _ = _handle(footer, pos)
    for _, handle in _block_items(_block(data, offset, size)):
        block_offset, block_size, _ = _handle(handle, 0)
        yield from _block_items(_block(data, block_offset, block_size))


# -- entries ------------------------------------------------------------------------------------------


def _shape(proto: dict[str, Any] | None) -> tuple[int, ...]:
    if proto is None:
        return ()
    dims = tuple(d["size"] for d in proto["dim"])
    if proto["unknown_rank"] or len(dims) > MAX_RANK or any(d < 0 for d in dims):
        raise Corrupt(f"a shape is unknown, negative or of rank above {MAX_RANK}")
    return dims


def _entry(key: str, value: bytes, num_shards: int) -> Entry:
    proto = decode(value, _ENTRY)
    dtype, shape = _DTYPES.get(proto["dtype"], f"dtype_{proto['dtype']}"), _shape(proto["shape"])
    if proto["slices"]:
        return Entry(key, dtype, shape, 0, 0, 0, num_shards, 0, sliced=True)
    shard, offset, size = proto["shard_id"], proto["offset"], proto["size"]
    if not 0 <= shard < num_shards or offset < 0 or size < 0:
        raise Corrupt(f"{key!r} names shard {shard} of {num_shards}, offset {offset}, size {size}")
    if dtype in _ITEMSIZE and prod(shape) * _ITEMSIZE[dtype] != size:
        raise Corrupt(
            f"{key!r} has {size} bytes, but its shape {shape} of {dtype} needs {prod(shape) * _ITEMSIZE[dtype]}"
        )
    return Entry(key, dtype, shape, shard, offset, size, num_shards, proto["crc32c"])


def _header(value: bytes) -> int:
    header = decode(value, _HEADER)
    if header["endianness"] != 0:
        raise Corrupt("written on a big-endian machine, which is not supported")
    if header["version"] is not None and header["version"]["min_consumer"] > 1:
        raise Corrupt(f"bundle format version {header['version']['min_consumer']} is newer than this reader")
    if not 1 <= header["num_shards"] <= 100_000:
        raise Corrupt(f"the header claims {header['num_shards']} shards")
    return int(header["num_shards"])


def _index_entries(data: bytes) -> list[Entry]:
    items = _table_items(data)
    first = next(items, None)
    if first is None or first[0] != b"":
        raise Corrupt("the bundle header (the empty key) is missing")
    num_shards, entries, last = _header(first[1]), list[Entry](), b""
    for key, value in items:
        if key.startswith(b"\x00"):  # a slice of a sliced tensor (OrderedCode key), read through that one
            continue
        if key <= last or len(entries) >= MAX_ENTRIES:
            raise Corrupt("keys out of order" if key <= last else f"more than {MAX_ENTRIES} entries")
        try:
            name = key.decode("utf-8")
        except UnicodeDecodeError:
            raise Corrupt("a key is not UTF-8") from None
        entries.append(_entry(name, value, num_shards))
        last = key
    return entries


def checkpoint_prefix(path: str | os.PathLike[str]) -> str:
    """The checkpoint prefix (``.../variables/variables``) of a SavedModel directory, its ``variables``
    directory, a prefix or an ``.index`` file."""
    path = os.fspath(path)
    for candidate in (os.path.join(path, "variables", "variables"), os.path.join(path, "variables"),
                      path.removesuffix(".index"), path):  # fmt: skip
        if os.path.isfile(candidate + ".index"):
            return candidate
    raise LoadError(f"{path}: no TensorFlow checkpoint here (no variables.index); point to a SavedModel directory")


def _damaged(what: str, why: Corrupt | OSError) -> LoadError:
    return LoadError(f"{what}: damaged or truncated TensorFlow checkpoint ({why}); copy or save the model again")


def read_index(path: str | os.PathLike[str]) -> list[Entry]:
    """Every tensor of a checkpoint (a SavedModel directory, ``variables`` dir or prefix), in key order."""
    index = checkpoint_prefix(path) + ".index"
    try:
        if os.path.getsize(index) > MAX_INDEX_BYTES:
            raise Corrupt(f"the index is larger than {MAX_INDEX_BYTES >> 20} MB")
        with open(index, "rb") as f:
            return _index_entries(f.read())
    except (Corrupt, OSError) as e:
        raise _damaged(index, e) from None


def _read_bytes(prefix: str, entry: Entry) -> bytes:
    name = f"{prefix}.data-{entry.shard:05d}-of-{entry.num_shards:05d}"
    try:
        if entry.offset + entry.size > os.path.getsize(name):
            raise Corrupt(f"{entry.key!r} ends past the end of {os.path.basename(name)}")
        with open(name, "rb") as f:
            f.seek(entry.offset)
            data = f.read(entry.size)
        if len(data) != entry.size:
            raise Corrupt(f"{os.path.basename(name)} ended early")
        return data
    except FileNotFoundError:
        raise LoadError(f"{name}: the checkpoint's data file is missing; copy the whole variables directory") from None
    except (Corrupt, OSError) as e:
        raise _damaged(name, e) from None


def read_value(path: str | os.PathLike[str], entry: Entry, verify: bool = False) -> np.ndarray:
    """One numeric tensor's value (only its bytes are read); ``bfloat16`` as ``float32``. ``verify``
    checks the stored crc32c too (pure Python: slow for large tensors)."""
    if entry.dtype not in _ITEMSIZE:
        raise LoadError(f"{entry.key!r}: a {entry.dtype} tensor, not numbers; it has no value to read here")
    if entry.sliced:
        raise LoadError(f"{entry.key!r}: saved in slices (a sharding policy), which modelscope cannot read yet; "
                        "save the model without experimental_sharding_callback")  # fmt: skip
    prefix = checkpoint_prefix(path)
    data = _read_bytes(prefix, entry)
    if verify and crc32c(data) != _unmask(entry.crc32c):
        raise _damaged(prefix, Corrupt(f"checksum mismatch in the value of {entry.key!r}"))
    if entry.dtype == "bfloat16":
        value = (np.frombuffer(data, "<u2").astype(np.uint32) << 16).view(np.float32)
    elif entry.dtype == "bool":
        value = np.frombuffer(data, np.uint8) != 0
    else:
        value = np.frombuffer(data, np.dtype(entry.dtype).newbyteorder("<")).astype(entry.dtype)
    return value.reshape(entry.shape)


def _strings(data: bytes, count: int) -> list[bytes]:
    """TF's string tensor layout: varint lengths, their masked crc32c (of each as uint32), the bytes."""
    lengths, pos, crc = [], 0, 0
    for _ in range(count):
        length, pos = _varint(data, pos)
        lengths.append(length)
        crc = crc32c(struct.pack("<I", length) if length <= 0xFFFFFFFF else struct.pack("<Q", length), crc)
    if len(data) - pos < 4 or _unmask(int.from_bytes(data[pos : pos + 4], "little")) != crc:
        raise Corrupt("the string lengths' checksum does not match")
    if sum(lengths) != len(data) - pos - 4:
        raise Corrupt("the string lengths do not add up to the tensor's size")
    bounds = list(accumulate(lengths, initial=pos + 4))
    return [data[start:end] for start, end in zip(bounds, bounds[1:])]


def read_strings(path: str | os.PathLike[str], entry: Entry) -> list[bytes]:
    """A string tensor's elements, flattened (at most ``MAX_STRING_TENSOR_BYTES``)."""
    if entry.dtype != "string":
        raise LoadError(f"{entry.key!r}: a {entry.dtype} tensor, not strings")
    prefix = checkpoint_prefix(path)
    try:
        if entry.size > MAX_STRING_TENSOR_BYTES or prod(entry.shape) > entry.size:
            raise Corrupt(f"{entry.key!r}: a string tensor of {entry.size} bytes, {prod(entry.shape)} elements")
        return _strings(_read_bytes(prefix, entry), prod(entry.shape))
    except Corrupt as e:
        raise _damaged(prefix, e) from None


def read_object_graph(path: str | os.PathLike[str], entries: list[Entry] | None = None) -> list[TrackableNode]:
    """The checkpoint's ``TrackableObjectGraph``: node ``i``'s children (node_id, local_name),
    attributes (name, full_name, checkpoint_key) and slot variables. Node 0 is the root."""
    entries = read_index(path) if entries is None else entries
    found = [e for e in entries if e.key == OBJECT_GRAPH_KEY]
    if not found or found[0].shape != ():
        raise LoadError(f"{path}: the checkpoint has no object graph (a TF1-style checkpoint?); save it again with TF2")
    (blob,) = read_strings(path, found[0])
    try:
        nodes: list[TrackableNode] = decode(blob, _OBJECT_GRAPH)["nodes"]
        refs = [c["node_id"] for n in nodes for c in n["children"]]
        refs += [s[k] for n in nodes for s in n["slot_variables"] for k in s if k.endswith("node_id")]
        if not all(0 <= r < len(nodes) for r in refs):
            raise Corrupt("the object graph refers to nodes it does not have")
    except Corrupt as e:
        raise _damaged(f"{path}: object graph", e) from None
    return nodes
