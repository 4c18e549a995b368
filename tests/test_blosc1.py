"""blosc1.py, the Blosc codec where c-blosc cannot be called: it reads every buffer c-blosc
makes, c-blosc and HDF5's Blosc filter read every buffer it makes, and a damaged buffer is a
CorruptChunkError that says what is wrong, before anything is decoded past its bounds."""

from __future__ import annotations

import struct
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
import pytest

from sessionh5._containers._hdf5 import blosc, blosc1
from sessionh5._containers._hdf5.arrays import XXH3_ATTR, read_array, read_region, write_array
from sessionh5._containers._hdf5.compression import ChunkCodec, Compression
from sessionh5._containers._hdf5.fletcher import CorruptChunkError
from sessionh5._containers._hdf5.native import ctypes_calls
from sessionh5.errors import CorruptFileError

#: Type sizes around every rule: 1 (no byte shuffle), split up to 16, never above, and
#: above Blosc's 255 (treated as 1); sizes with short last blocks, and under 128 bytes.
TYPESIZES = [1, 2, 3, 4, 8, 16, 17, 255, 300]
SIZES = [0, 100, 4099, 131_075, 300_000, (1 << 20) + 17]
SHUFFLES = [blosc.NOSHUFFLE, blosc.SHUFFLE, blosc.BITSHUFFLE]


def _data(size: int, kind: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "noise":  # does not shrink: stored as is
        return rng.integers(0, 256, size, dtype=np.uint8)
    if kind == "small values":
        return rng.integers(0, 4, size, dtype=np.uint8)
    smooth = np.linspace(0, 1, size // 4 + 1, dtype="<f4").view(np.uint8)  # "floats"
    return np.ascontiguousarray(smooth[:size])


def _c_blosc(data: np.ndarray, typesize: int, shuffle: int, level: int = blosc.LEVEL,
             blocksize: int = blosc.BLOCKSIZE) -> np.ndarray:
    compress = blosc._FUNCTIONS[0]
    out = np.empty(data.size + blosc.OVERHEAD, np.uint8)
    size = compress(level, shuffle, typesize if typesize <= 255 else 1, data.size,
                    data.ctypes.data, out.ctypes.data, out.size, b"lz4", blocksize, 1)
    assert size > 0
    return out[:size].copy()


def _ours(data: np.ndarray, typesize: int, shuffle: int) -> np.ndarray:
    out = np.empty(data.size + blosc.OVERHEAD, np.uint8)
    size = blosc1.compress_into(data, typesize, shuffle, out, blosc.LEVEL, blosc.BLOCKSIZE)
    return out[:size].copy()


def _decoded_by_us(stored: np.ndarray, size: int) -> np.ndarray:
    out = np.empty(size, np.uint8)
    blosc.check_header(stored, size)
    blosc1.decompress_into(stored, out)
    return out


needs_c_blosc = pytest.mark.skipif(not blosc.native(), reason="c-blosc cannot be called here")


@needs_c_blosc
@pytest.mark.parametrize("kind", ["noise", "small values", "floats"])
@pytest.mark.parametrize("shuffle", SHUFFLES)
@pytest.mark.parametrize("typesize", TYPESIZES)
def test_each_codec_reads_what_the_other_writes(typesize: int, shuffle: int, kind: str) -> None:
    """Same header choices (block size, split, shuffle flags) as c-blosc; each decodes the
    other's buffers to the same bytes (the LZ4 streams may differ between LZ4 versions)."""
    for size in SIZES:
        data = _data(size, kind, seed=size)
        theirs, ours = _c_blosc(data, typesize, shuffle), _ours(data, typesize, shuffle)
        mine, their_header = struct.unpack_from("<BBBBII", ours), \
            struct.unpack_from("<BBBBII", theirs)
        if not (mine[2] ^ their_header[2]) & 0x02:  # unless only one stored the bytes as is
            assert mine == their_header, (size, mine, their_header)
        assert np.array_equal(_decoded_by_us(theirs, size), data), size
        back = np.empty(size, np.uint8)
        assert blosc._FUNCTIONS[1](ours.ctypes.data, back.ctypes.data, size, 1) == size
        assert np.array_equal(back, data), size


@needs_c_blosc
@pytest.mark.parametrize("level", [0, 1, 5, 9])
@pytest.mark.parametrize("blocksize", [0, 128, 4096, 1 << 18])
def test_buffers_of_other_levels_and_block_sizes_decode(level: int, blocksize: int) -> None:
    """What other writers choose (plain h5py with hdf5plugin.Blosc, c-blosc's defaults)."""
    data = _data(300_001, "small values", seed=level)
    for typesize, shuffle in [(1, blosc.BITSHUFFLE), (4, blosc.SHUFFLE), (8, blosc.BITSHUFFLE),
                              (3, blosc.NOSHUFFLE)]:
        stored = _c_blosc(data, typesize, shuffle, level, blocksize)
        assert np.array_equal(_decoded_by_us(stored, data.size), data)


@pytest.mark.parametrize("dtype", ["<f4", ">f8", "u1", "?", "<i2", "S5"])
def test_hdf5s_blosc_filter_reads_our_chunks_and_we_read_its(tmp_path: Path, dtype: str
                                                             ) -> None:
    """Without ctypes, arrays are still written as layout 3's Blosc chunks with their xxh3:
    plain h5py (HDF5's own filter) reads them, and chunks HDF5's filter wrote (other
    shuffles, levels, block sizes, the zlib codec) are read by blosc1."""
    rng = np.random.default_rng(3)
    array = rng.normal(0, 40, (130, 2100)).astype(dtype)
    path = tmp_path / "a.h5"
    with ctypes_calls(False), h5py.File(path, "w") as f:
        write_array(f, "ours", array, Compression("lz4"))
        for name, options in [("lz4-shuffle", hdf5plugin.Blosc("lz4", 5, 1)),
                              ("lz4-bitshuffle", hdf5plugin.Blosc("lz4", 9, 2)),
                              ("lz4hc", hdf5plugin.Blosc("lz4hc", 4, 0)),
                              ("zlib", hdf5plugin.Blosc("zlib", 3, 1))]:
            f.create_dataset(name, data=array, chunks=(40, 700), **options)
    with h5py.File(path, "r") as f:
        assert ChunkCodec.from_dataset(f["ours"]).method == "blosc"
        assert XXH3_ATTR in f["ours"].attrs
        assert np.array_equal(f["ours"][...], array)  # HDF5's Blosc filter
        with ctypes_calls(False):
            for name in f:
                got = read_array(f[name])
                assert got.dtype == array.dtype and got.tobytes() == array.tobytes(), name
                part = read_region(f[name], (slice(7, 99), slice(650, 1401)))
                assert part.tobytes() == array[7:99, 650:1401].tobytes(), name


def test_a_codec_only_c_blosc_decodes_is_refused_by_name(tmp_path: Path) -> None:
    """Zstd inside Blosc (a foreign file) needs c-blosc; without it the error says so."""
    array = np.arange(200_000, dtype="<i8")
    with h5py.File(tmp_path / "z.h5", "w") as f:
        f.create_dataset("z", data=array, chunks=(50_000,), **hdf5plugin.Blosc("zstd", 3, 1))
    with h5py.File(tmp_path / "z.h5", "r") as f:
        if blosc.native():
            assert np.array_equal(read_array(f["z"]), array)
        with ctypes_calls(False), pytest.raises(
                CorruptFileError, match=r"uses the Zstd codec .* only through c-blosc"):
            read_array(f["z"])


def _damaged(edit: str) -> tuple[np.ndarray, int]:
    """A buffer of 4 blocks of 4-byte items (byte streams split), damaged as ``edit`` says,
    with its header's stored size kept right; and the raw size."""
    data = _data(2_000_000, "floats")
    stored = bytearray(_ours(data, 4, blosc.SHUFFLE).tobytes())
    assert stored[2] & 0x12 == 0  # split, not stored as is
    first = struct.unpack_from("<i", stored, 16)[0]
    if edit == "block offset":
        struct.pack_into("<i", stored, 20, len(stored) - 2)
    elif edit == "stream size":
        struct.pack_into("<i", stored, first, len(stored))
    elif edit == "negative size":
        struct.pack_into("<i", stored, first, -5)
    elif edit == "stream bytes":
        stored[first + 4 : first + 40] = bytes(36)
    elif edit == "offsets cut":
        stored = stored[:24]
        struct.pack_into("<I", stored, 12, len(stored))
    elif edit == "reserved flag":
        stored[2] |= 0x08
    elif edit == "block size":
        struct.pack_into("<I", stored, 8, 0)
    elif edit == "tiny blocks":
        struct.pack_into("<I", stored, 8, 64)
    elif edit == "stored as is":
        stored[2] |= 0x02
    elif edit == "codec":
        stored[2] = stored[2] & 0x1F | 4 << 5
    return np.frombuffer(bytes(stored), np.uint8), data.size


@pytest.mark.parametrize(("edit", "message"), [
    ("block offset", "Blosc stream offset .* lies outside the chunk"),
    ("stream size", "Blosc stream of .* bytes overruns the chunk"),
    ("negative size", "Blosc stream of -5 bytes overruns the chunk"),
    ("stream bytes", "LZ4 block does not decode"),
    ("offsets cut", "too short for its 4 block offsets"),
    ("reserved flag", "Blosc header is damaged"),
    ("block size", "Blosc header is damaged .block size 0"),
    ("tiny blocks", "Blosc blocks of 64 bytes are smaller than any c-blosc makes"),
    ("stored as is", "Blosc chunk stored as is has the wrong size"),
    ("codec", "uses the Zstd codec"),
])
def test_a_damaged_buffer_is_refused_with_what_is_wrong(edit: str, message: str) -> None:
    stored, size = _damaged(edit)
    out = np.zeros(size + 64, np.uint8)  # decoding never writes past its target
    with pytest.raises(CorruptChunkError, match=message):
        blosc.check_header(stored, size)
        blosc1.decompress_into(stored, out[:size])
    assert not out[size:].any()


def test_blosc_calls_blosc1_without_ctypes() -> None:
    """The switch reaches blosc.py: the same calls, made by blosc1, decode to the same."""
    data = _data(1 << 20, "floats")
    with ctypes_calls(False):
        assert not blosc.native()
        out = np.empty(data.size + blosc.OVERHEAD, np.uint8)
        stored = out[: blosc.compress_into(data, 4, blosc.SHUFFLE, out)].copy()
        back = np.empty(data.size, np.uint8)
        blosc.decompress_into(stored, back)
    assert np.array_equal(back, data)
    assert stored.size < data.size // 2
