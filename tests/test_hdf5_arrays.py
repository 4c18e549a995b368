"""write_array / read_array: exact round trips, readable by plain HDF5 tools, corruption caught."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import threading
import zlib
from pathlib import Path

import h5py
import hdf5plugin
import msgpack
import numpy as np
import pytest

from sessionh5._containers._hdf5 import lz4chunks as lz4_module
from sessionh5._containers._hdf5.arrays import (
    CRC_ATTR,
    DTYPE_ATTR,
    XXH3_ATTR,
    read_array,
    write_array,
)
from sessionh5._containers._hdf5.compression import (
    CHUNK_NBYTES,
    TINY_NBYTES,
    Compression,
    chunk_shape,
    fletcher32,
)
from sessionh5._containers._hdf5.shuffle import shuffle, unshuffle
from sessionh5.errors import CorruptFileError, UnsupportedValueError, UsageError

COMPRESSIONS = ["lz4", "gzip", "none"]
SMALL = (7, 5)
LARGE = (300, 1100)  # above TINY_NBYTES for every itemsize, several chunks for most

NUMERIC = ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "g", "c8", "c16", "G"]
DTYPES = [
    *[pytest.param(np.dtype(f"<{c}"), id=f"<{c}") for c in NUMERIC],
    *[pytest.param(np.dtype(f">{c}"), id=f">{c}") for c in NUMERIC if np.dtype(c).itemsize > 1],
    pytest.param(np.dtype("?"), id="bool"),
    pytest.param(np.dtype("S7"), id="S7"),
    pytest.param(np.dtype("<U3"), id="<U3"),
    pytest.param(np.dtype(">U5"), id=">U5"),
    pytest.param(np.dtype("V6"), id="V6"),
    pytest.param(np.dtype("<M8[ns]"), id="datetime64"),
    pytest.param(np.dtype(">m8[s]"), id="timedelta64-be"),
    pytest.param(np.dtype([("x", "<f4"), ("n", ">i8")]), id="record"),
    pytest.param(np.dtype([("a", "u1"), ("b", "<f8")], align=True), id="record-aligned"),
    pytest.param(np.dtype([("id", "<i2"), ("p", [("x", ">f4"), ("t", "u1", (3,))])]),
                 id="record-nested"),
    pytest.param(np.dtype([("name", "<U4"), ("when", "<M8[ms]"), ("v", "<f8", (2,))]),
                 id="record-with-text"),
]


def _random(shape: tuple[int, ...], dtype: np.dtype, seed: int = 0) -> np.ndarray:
    """Arbitrary bit patterns (NaN payloads and padding bytes included) of ``dtype``."""
    rng = np.random.default_rng(seed)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind == "U":
        points = rng.integers(32, 0xD7FF, (*shape, dtype.itemsize // 4), dtype=np.uint32)
        return points.astype(dtype.str[0] + "u4").view(dtype).reshape(shape)
    count = int(np.prod(shape)) * dtype.itemsize
    array = np.frombuffer(rng.bytes(count), np.uint8).view(dtype).reshape(shape).copy()
    for name in dtype.names or ():
        if dtype[name].kind == "U":
            array[name] = "wxyz"
    return array


def _same(expected: np.ndarray, got: np.ndarray) -> None:
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    assert got.flags.c_contiguous and got.flags.writeable
    assert got.tobytes() == np.ascontiguousarray(expected).tobytes()


def _roundtrip(tmp_path: Path, array: np.ndarray, compression: str = "lz4") -> np.ndarray:
    with h5py.File(tmp_path / "a.h5", "w") as f:
        write_array(f, "a", array, Compression.from_name(compression))
    with h5py.File(tmp_path / "a.h5", "r") as f:
        return read_array(f["a"])


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("shape", [SMALL, LARGE], ids=["tiny", "chunked"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dtypes_round_trip_exactly(tmp_path: Path, dtype: np.dtype, shape: tuple[int, ...],
                                   compression: str) -> None:
    """Every supported dtype comes back with the same dtype, byte order, shape and bytes."""
    array = _random(shape, dtype)
    _same(array, _roundtrip(tmp_path, array, compression))


SHAPES = [
    pytest.param(np.array(3.25), id="0-d"),
    pytest.param(np.array("héllo"), id="0-d-text"),
    pytest.param(np.zeros((0,), "f8"), id="empty"),
    pytest.param(np.zeros((3, 0, 2), ">i4"), id="empty-3d"),
    pytest.param(np.zeros((0,), "<U3"), id="empty-text"),
    pytest.param(np.arange(600_000, dtype="f8").reshape(600, 1000)[::3, 7:900:2], id="strided"),
    pytest.param(np.arange(600_000, dtype="i4").reshape(600, 1000).T, id="transposed"),
    pytest.param(np.asfortranarray(np.arange(300_000, dtype=">f4").reshape(300, 1000)),
                 id="fortran"),
    pytest.param(np.array([["ab", "cdé"], ["", "x"]] * 20000).T, id="text-transposed"),
    pytest.param(np.full((5, 4), np.nan, "f4"), id="nan"),
    pytest.param(np.zeros((3, 2**20 // 3 + 7), "u1"), id="edge-chunks"),
]


@pytest.mark.parametrize("array", SHAPES)
def test_shapes_round_trip(tmp_path: Path, array: np.ndarray) -> None:
    """0-d, empty and non-contiguous arrays come back equal and C-contiguous."""
    _same(array, _roundtrip(tmp_path, array))


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_big_array_round_trips(tmp_path: Path, compression: str) -> None:
    """A few MiB of smooth floats survive each compression."""
    x = np.linspace(0, 20, 1_500_000, dtype=np.float32)
    array = (np.sin(x) * np.cos(x[:, None][:1])).reshape(1000, 1500)
    _same(array, _roundtrip(tmp_path, array, compression))


EXPECTED_FILTERS = {
    "lz4": ["32001", "fletcher32"],
    "gzip": ["shuffle", "gzip", "fletcher32"],
    "none": ["fletcher32"],
}


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_large_dataset_has_own_shape_dtype_and_filters(tmp_path: Path, compression: str) -> None:
    """HDF tools see the array's shape and dtype, chunked with the declared pipeline."""
    array = np.zeros((40, 30, 500), ">f8")
    with h5py.File(tmp_path / "a.h5", "w") as f:
        ds = write_array(f, "vol", array, Compression.from_name(compression))
        assert ds.shape == array.shape and ds.dtype == array.dtype
        assert list(ds._filters) == EXPECTED_FILTERS[compression]
        assert ds.chunks == (1, 30, 500) or np.prod(ds.chunks) * 8 <= CHUNK_NBYTES
        assert ds.chunks[1:] == array.shape[1:]
        assert DTYPE_ATTR not in ds.attrs
        assert ds.attrs[XXH3_ATTR].dtype == np.uint64
        assert ds.attrs[XXH3_ATTR].shape == (ds.id.get_num_chunks(),)


LABELS = np.random.default_rng(9).integers(0, 6, 300_000).astype(np.uint8)
#: Like a table's state column: msgpack rows back to back.
BYTE_STREAM = np.frombuffer(b"".join(
    msgpack.packb({"name": f"object {i}", "x": i * 0.37, "serial": i * 7919 % 1000003,
                   "visible": bool(i % 7), "color": [i % 256, 3, 5, 255]})
    for i in range(12_000)), np.uint8)


@pytest.mark.parametrize(("data", "mode"), [
    pytest.param(np.zeros(300_000, "<f4"), 1, id="<f4"),
    pytest.param(np.zeros(300_000, ">i8"), 1, id=">i8"),
    pytest.param(LABELS, 2, id="u1-labels"),  # bit shuffle packs small integers
    pytest.param(LABELS.view(np.int8), 2, id="i1-labels"),
    pytest.param(BYTE_STREAM, 0, id="u1-byte-stream"),  # and breaks up text-like bytes
    pytest.param(np.zeros(300_000, "?"), 2, id="bool"),
    pytest.param(np.zeros(300_000, "S7"), 0, id="S7"),
    pytest.param(np.zeros(300_000, "V6"), 0, id="V6"),
])
def test_blosc_options_say_how_chunks_are_shuffled(tmp_path: Path, data: np.ndarray,
                                                   mode: int) -> None:
    """Blosc's options are hdf5plugin.Blosc()'s: level 1, LZ4, byte/bit/no shuffle per dtype
    (1-byte integers: whichever of bit shuffle and none compresses a sample better)."""
    dtype = data.dtype
    with h5py.File(tmp_path / "a.h5", "w") as f:
        ds = write_array(f, "a", data, Compression.from_name("lz4"))
        plist = ds.id.get_create_plist()
        code, flags, options = plist.get_filter(0)[:3]
        assert flags & h5py.h5z.FLAG_OPTIONAL
        assert (code, options[4:]) == (32001, (1, mode, 1))
        assert options[2] == np.dtype(dtype).itemsize  # the typesize the filter recorded
        header = ds.id.read_direct_chunk((0,))[1]
        assert header[0] == 2 and header[3] == (np.dtype(dtype).itemsize if mode else 1)
        assert bool(header[2] & 0x1) == (mode == 1) and bool(header[2] & 0x4) == (mode == 2)


def test_tiny_dataset_is_contiguous_with_crc(tmp_path: Path) -> None:
    """Small arrays skip chunking and compression; a CRC32 guards them instead."""
    with h5py.File(tmp_path / "a.h5", "w") as f:
        ds = write_array(f, "t", np.arange(100, dtype="<i8"), Compression.from_name("lz4"))
        assert ds.chunks is None and ds.compression is None
        assert CRC_ATTR in ds.attrs
        assert TINY_NBYTES >= 16 * 1024


def test_text_is_stored_as_code_points(tmp_path: Path) -> None:
    """'U' arrays become uint32 code points with an extra trailing axis, marked for numpy."""
    array = np.array([["ab", "c"], ["déf", ""]])
    with h5py.File(tmp_path / "a.h5", "w") as f:
        ds = write_array(f, "s", array, Compression.from_name("lz4"))
        assert ds.shape == (2, 2, 3) and ds.dtype == np.dtype("<u4")
        assert ds[1, 0].tolist() == [ord("d"), ord("é"), ord("f")]
        assert ds.attrs[DTYPE_ATTR] == '"<U3"'


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_plain_h5py_reads_the_same_values(tmp_path: Path, compression: str) -> None:
    """After ``import hdf5plugin`` plain h5py reads whole datasets and slices (checksums on)."""
    assert hdf5plugin.PLUGIN_PATH
    array = np.random.default_rng(1).normal(size=(64, 128, 96)).astype(">f4")
    with h5py.File(tmp_path / "a.h5", "w") as f:
        write_array(f, "v", array, Compression.from_name(compression))
    with h5py.File(tmp_path / "a.h5", "r") as f:
        np.testing.assert_array_equal(f["v"][()], array)
        np.testing.assert_array_equal(f["v"][10:13, 5], array[10:13, 5])


def test_h5dump_reads_lz4_dataset(tmp_path: Path) -> None:
    """h5dump, given hdf5plugin's plugin directory, decodes our LZ4 chunks."""
    h5dump = shutil.which("h5dump")
    if h5dump is None:
        pytest.skip("h5dump is not installed (apt-get install hdf5-tools)")
    array = (np.arange(400_000, dtype="<i4") * 7).reshape(400, 1000)
    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        write_array(f, "ints", array, Compression.from_name("lz4"))
    env = {**os.environ, "HDF5_PLUGIN_PATH": hdf5plugin.PLUGIN_PATH}
    out = subprocess.run([h5dump, "-d", "/ints", "-s", "399,995", "-c", "1,5", str(path)],
                         env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "2799965, 2799972, 2799979, 2799986, 2799993" in out.stdout


def _flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x10]))


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_corrupt_chunk_is_detected(tmp_path: Path, compression: str) -> None:
    """One flipped byte in a chunk raises CorruptFileError naming the dataset."""
    array = np.random.default_rng(2).normal(size=(50, 4000))
    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        write_array(f.create_group("g"), "data", array, Compression.from_name(compression))
    with h5py.File(path, "r") as f:
        info = f["g/data"].id.get_chunk_info(0)
    _flip_byte(path, info.byte_offset + info.size // 2)
    with h5py.File(path, "r") as f:
        with pytest.raises(CorruptFileError, match="/g/data"):
            read_array(f["g/data"])
        with pytest.raises(OSError):
            f["g/data"][()]  # HDF5's own Fletcher32 check agrees


def test_corrupt_tiny_array_is_detected(tmp_path: Path) -> None:
    """Contiguous small arrays are checked by their CRC32."""
    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        offset = write_array(f, "small", np.arange(50.0), Compression.from_name("lz4")).id
        offset = offset.get_offset()
    _flip_byte(path, offset + 17)
    with h5py.File(path, "r") as f, pytest.raises(CorruptFileError, match="/small"):
        read_array(f["small"])


def test_fletcher32_matches_hdf5(tmp_path: Path) -> None:
    """Our vectorised Fletcher32 equals the checksum HDF5 appends, for odd and even sizes."""
    rng = np.random.default_rng(3)
    samples = [rng.integers(0, 256, n, dtype=np.uint8) for n in (1, 2, 3, 4095, 8193, 50001)]
    samples += [np.zeros(10, np.uint8), np.full(65535 * 2, 255, np.uint8)]
    with h5py.File(tmp_path / "f.h5", "w") as f:
        for i, data in enumerate(samples):
            ds = f.create_dataset(str(i), data=data, chunks=data.shape, fletcher32=True)
            stored = ds.id.read_direct_chunk((0,))[1]
            assert int.from_bytes(stored[-4:], "little") == fletcher32(data.tobytes())


@pytest.mark.parametrize("size", [2, 3, 4, 8, 16])
def test_shuffle_is_hdf5_byte_transpose(size: int) -> None:
    """shuffle equals the (n, size) transpose; unshuffle inverts it, also into a prefix."""
    data = np.random.default_rng(size).integers(0, 256, 1001 * size, dtype=np.uint8)
    shuffled = shuffle(data, size).copy()
    assert np.array_equal(shuffled, np.ascontiguousarray(data.reshape(-1, size).T).reshape(-1))
    for count in (1001, 500, 1, 0):
        dest = np.full(count * size, 7, np.uint8)
        unshuffle(shuffled, dest, size)
        assert np.array_equal(dest, data[: count * size])


@pytest.mark.parametrize("dtype", [np.dtype(object), np.dtype([("a", "i4"), ("b", object)])],
                         ids=["object", "record-with-object"])
def test_object_arrays_are_refused(tmp_path: Path, dtype: np.dtype) -> None:
    """Python objects have no HDF5 form: UnsupportedValueError, and nothing is written."""
    with h5py.File(tmp_path / "a.h5", "w") as f:
        with pytest.raises(UnsupportedValueError, match="objects"):
            write_array(f, "o", np.zeros(3, dtype), Compression.from_name("lz4"))
        assert "o" not in f


@pytest.mark.parametrize("name", ["zstd", "LZ4", "", "blosc"])
def test_unknown_compression_names_are_refused(name: str) -> None:
    """The message lists the allowed values."""
    with pytest.raises(UsageError, match="'lz4', 'gzip', 'none'"):
        Compression.from_name(name)


def test_compression_values() -> None:
    """None means no compression; gzip gets a fast default level; levels are validated."""
    assert Compression.from_name(None) == Compression.from_name("none") == Compression("none")
    assert Compression.from_name("gzip").level in range(1, 5)
    assert Compression.from_name("lz4").filters_needed() == [
        "Blosc with LZ4 (HDF5 filter 32001, from hdf5plugin)"]
    assert Compression.from_name("gzip").filters_needed() == []
    with pytest.raises(UsageError):
        Compression("gzip", level=12)
    with pytest.raises(UsageError):
        Compression("lz4", level=3)


def test_chunks_are_whole_rows_of_the_last_axes() -> None:
    """A volume is chunked in whole planes, a long table in blocks of whole rows."""
    assert chunk_shape((512, 512, 512), 4) == (CHUNK_NBYTES // (512 * 512 * 4), 512, 512)
    assert chunk_shape((20_000_000, 3), 4)[1] == 3
    assert chunk_shape((2, 4096, 4096), 8)[:1] == (1,)
    assert chunk_shape((10**9,), 1) == (CHUNK_NBYTES,) or chunk_shape((10**9,), 1)[0] <= 2**21


def test_progress_reports_every_byte_in_increments(tmp_path: Path) -> None:
    """progress(n) receives increments that add up to the raw size, several for big arrays."""
    array = np.ones((8, 512, 512), "f4")
    calls: list[int] = []
    with h5py.File(tmp_path / "a.h5", "w") as f:
        write_array(f, "a", array, Compression.from_name("lz4"), progress=calls.append)
        assert sum(calls) == array.nbytes and len(calls) > 1
        calls.clear()
        read_array(f["a"], progress=calls.append)
        assert sum(calls) == array.nbytes and len(calls) > 1


def test_parallel_saves_in_threads(tmp_path: Path) -> None:
    """Several sessions saving at once share the chunk pool safely."""
    arrays = [np.random.default_rng(i).normal(size=(200, 2000)) for i in range(4)]
    errors: list[BaseException] = []

    def save(i: int) -> None:
        try:
            _same(arrays[i], _roundtrip(tmp_path / str(i), arrays[i]))
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    for i in range(4):
        (tmp_path / str(i)).mkdir()
    threads = [threading.Thread(target=save, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


DECODERS = [pytest.param(True, id="liblz4-via-ctypes"), pytest.param(False, id="python-lz4")]


def _lz4_decoder(monkeypatch: pytest.MonkeyPatch, c_function: bool) -> None:
    """Use liblz4's C function (the default when found, also under SESSIONH5_NO_CTYPES
    here) or python-lz4's fallback."""
    found = lz4_module._lz4_c_function("LZ4_decompress_safe") if c_function else None
    monkeypatch.setattr(lz4_module, "_LZ4_DECOMPRESS", found)
    assert (found is not None) == c_function  # python-lz4's wheels export liblz4


@pytest.mark.parametrize("c_function", DECODERS)
@pytest.mark.parametrize("dtype", ["u1", "<f4"])
def test_reads_hdf5plugin_lz4_in_small_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              c_function: bool, dtype: str) -> None:
    """Chunks of many LZ4 blocks, compressed and raw ones, from plain h5py decode exactly.

    u1 is not shuffled (full chunks decode straight into the output, the short last
    one through scratch), f4 is.
    """
    _lz4_decoder(monkeypatch, c_function)
    rng = np.random.default_rng(5)
    smooth = np.repeat(np.arange(200_000) % 7, 3).astype(dtype)
    noise = rng.integers(0, 256, 300_001 * np.dtype(dtype).itemsize, dtype=np.uint8).view(dtype)
    array = np.concatenate([smooth, noise, smooth[:12_345]])
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("a", data=array, chunks=(65536,), shuffle=dtype != "u1",
                         fletcher32=True, **hdf5plugin.LZ4(nbytes=4096))
        _same(array, read_array(f["a"]))


@pytest.mark.parametrize("c_function", DECODERS)
def test_truncated_lz4_block_is_corrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        c_function: bool) -> None:
    """A cut LZ4 block whose sizes and checksum were fixed up still fails to decode."""
    _lz4_decoder(monkeypatch, c_function)
    array = np.tile(np.arange(250, dtype=np.uint8), 20_000)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        ds = f.create_dataset("a", data=array, chunks=array.shape, fletcher32=True,
                              **hdf5plugin.LZ4())
        stored = ds.id.read_direct_chunk((0,))[1]
        (size,) = struct.unpack_from(">I", stored, 12)
        cut = bytearray(stored[: 16 + size // 2])
        cut[12:16] = struct.pack(">I", size // 2)
        cut += fletcher32(cut).to_bytes(4, "little")
        ds.id.write_direct_chunk((0,), bytes(cut))
        with pytest.raises(CorruptFileError, match="LZ4 block does not decode"):
            read_array(ds)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_chunk_larger_than_any_writer_makes_is_refused_unread(tmp_path: Path,
                                                              compression: str) -> None:
    """A stored chunk larger than a chunk of its size can take is refused before it is
    read: h5py would allocate whatever size the chunk index claims."""
    array = np.arange(300_000, dtype=np.float64)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        ds = write_array(f, "a", array, Compression.from_name(compression))
        huge = bytes(3 * ds.chunks[0] * 8)
        ds.id.write_direct_chunk((0,), huge + fletcher32(huge).to_bytes(4, "little"))
        with pytest.raises(CorruptFileError, match=r"chunk at \(0,\) claims more stored bytes"):
            read_array(ds)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_many_chunks_reuse_read_buffers(tmp_path: Path, compression: str) -> None:
    """Far more chunks than read buffers, each different: every one lands in its place."""
    array = np.random.default_rng(6).integers(0, 50, (48, 256, 512), dtype=np.int32)
    array[:, 0, 0] = np.arange(48)
    _same(array, _roundtrip(tmp_path, array, compression))


@pytest.mark.parametrize("through", ["uncompress2", "zlib module"])
@pytest.mark.parametrize(("case", "message"), [
    ("whole", None),
    ("with a tail after the stream", None),
    ("a bomb", "deflate stream holds more than the chunk's 1048576 bytes"),
    ("too short", "chunk holds 1000 bytes, expected 1048576"),
    ("truncated", "deflate stream does not decode"),
    ("not deflate", "deflate stream does not decode"),
])
def test_a_deflate_chunk_inflates_to_exactly_its_size_and_never_more(
        through: str, case: str, message: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """zlib through ctypes and Python's zlib module (the fallback) agree on every case."""
    from craft import _zlib_bomb

    from sessionh5._containers._hdf5 import inflate

    found = inflate._uncompress2() if through == "uncompress2" else None
    monkeypatch.setattr(inflate, "_UNCOMPRESS2", found)  # also under SESSIONH5_NO_CTYPES
    if through == "uncompress2" and found is None:
        pytest.skip("this zlib has no uncompress2")
    raw = np.random.default_rng(9).integers(0, 50, 1 << 20, dtype=np.uint8).tobytes()
    stream = zlib.compress(raw, 1)
    body = {"whole": stream, "with a tail after the stream": stream + b"tail",
            "a bomb": _zlib_bomb(64 << 20), "too short": zlib.compress(raw[:1000]),
            "truncated": stream[: len(stream) // 2], "not deflate": b"xyz" * 100}[case]
    if message is None:
        assert bytes(inflate.inflate(body, len(raw))) == raw
    else:
        with pytest.raises(inflate.InflateError, match=message):
            inflate.inflate(body, len(raw))
