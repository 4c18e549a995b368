"""Compression choice, chunk-shape policy and the byte format of each stored chunk.

Large arrays are written with ``write_direct_chunk``: chunks are filtered here, in
a thread pool, instead of by HDF5's single-threaded pipeline (docs/arrays-notes.md
has the numbers). The bytes must be exactly what HDF5's own filters produce, so
any HDF5 reader (h5py with hdf5plugin, h5dump with HDF5_PLUGIN_PATH) reads them:

* shuffle (filter 2): byte *k* of every element, for k = 0 .. itemsize-1;
* LZ4 (filter 32004, hdf5plugin): big-endian u64 original size, big-endian u32
  block size, then per block a big-endian u32 stored size and the LZ4 block (the
  raw block when LZ4 does not shrink it);
* deflate (filter 1): one zlib stream;
* Fletcher32 (filter 3): HDF5's Fletcher sum over big-endian 16-bit words of all
  bytes before it, appended as a little-endian u32.
"""

from __future__ import annotations

import ctypes
import math
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import h5py
import hdf5plugin
import lz4.block
import numpy as np
from lz4.block import _block as _lz4_extension

from ...errors import UsageError
from .inflate import InflateError, inflate
from .shuffle import scratch_bytes, shuffle, unshuffle

__all__ = [
    "CHUNK_NBYTES",
    "LZ4_FILTER",
    "TINY_NBYTES",
    "ChunkCodec",
    "Compression",
    "CorruptChunkError",
    "chunk_shape",
    "fletcher32",
]

CompressionName = Literal["lz4", "gzip", "none"]
_NAMES: tuple[CompressionName, ...] = ("lz4", "gzip", "none")

LZ4_FILTER = 32004
#: Arrays up to this size are stored contiguous and uncompressed (chunk index and
#: filter setup cost more than they save).
TINY_NBYTES = 64 * 1024
#: Target raw size of one chunk; measured in docs/arrays-notes.md.
CHUNK_NBYTES = 1024 * 1024
_GZIP_DEFAULT_LEVEL = 1
_LZ4_MAX_BLOCK = 1 << 30  # the filter's default block size
#: LZ4's speed/ratio knob (the stored format is the same for any value): 4 compresses a
#: shuffled W1 volume chunk twice as fast as 1 for 1 % more bytes (docs/performance.md).
_LZ4_ACCELERATION = 4
_LZ4_HEADER = struct.Struct(">QI")
_U32_BE = struct.Struct(">I")
_FLETCHER_ROW = 4096  # 16-bit words per row of the vectorised Fletcher sum


def _lz4_c_function(name: str) -> Callable[..., int] | None:
    """A function of liblz4, which python-lz4's extension exports, or None.

    python-lz4 only returns fresh bytes (two 1 MiB allocations per chunk, which can
    page-fault on every chunk); the C functions work in buffers we keep and, called
    through ctypes, release the GIL. Neither writes past the capacity it is given.
    """
    try:
        function = getattr(ctypes.CDLL(_lz4_extension.__file__), name)
    except (OSError, AttributeError):  # e.g. a build that does not export liblz4's symbols
        return None
    function.restype = ctypes.c_int
    return function


#: LZ4_decompress_safe(src, dst, srcSize, dstCapacity) -> bytes written, < 0 on bad data.
_LZ4_DECOMPRESS = _lz4_c_function("LZ4_decompress_safe")
#: LZ4_compress_fast(src, dst, srcSize, dstCapacity, acceleration) -> bytes written, 0 if
#: they do not fit: the same blocks python-lz4 makes (it calls the same function).
_LZ4_COMPRESS = _lz4_c_function("LZ4_compress_fast")
if _LZ4_DECOMPRESS is not None:
    _LZ4_DECOMPRESS.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
if _LZ4_COMPRESS is not None:
    _LZ4_COMPRESS.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int]


class CorruptChunkError(ValueError):
    """A stored chunk fails its checksum or cannot be decoded."""


@dataclass(frozen=True, slots=True)
class Compression:
    """How arrays above TINY_NBYTES are compressed; frozen so threads can share it."""

    name: CompressionName
    level: int | None = None

    def __post_init__(self) -> None:
        if self.name not in _NAMES:
            raise UsageError(_unknown_name_message(self.name))
        if self.name == "gzip":
            level = _GZIP_DEFAULT_LEVEL if self.level is None else self.level
            if not (isinstance(level, int) and 1 <= level <= 9):
                raise UsageError(f"gzip level must be an int from 1 to 9, got {level!r}")
            object.__setattr__(self, "level", level)
        elif self.level is not None:
            raise UsageError(f"compression {self.name!r} takes no level, got {self.level!r}")

    @classmethod
    def from_name(cls, name: str | None) -> Compression:
        """Parse a user's choice: "lz4", "gzip", or None/"none" for no compression."""
        if name is None or name == "none":
            return cls("none")
        if name == "lz4" or name == "gzip":
            return cls(name)
        raise UsageError(_unknown_name_message(name))

    def filters_needed(self) -> list[str]:
        """Human names of the non-built-in HDF5 filters a reader of the file needs."""
        if self.name == "lz4":
            return [f"LZ4 (HDF5 filter {LZ4_FILTER}, from hdf5plugin)"]
        return []


def _unknown_name_message(name: object) -> str:
    allowed = ", ".join(repr(n) for n in _NAMES)
    return f"unknown compression {name!r}; expected one of {allowed} or None"


def chunk_shape(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Chunks of whole trailing rows, about CHUNK_NBYTES each.

    A chunk is ``(1, ..., 1, n, *shape[k+1:])``: one contiguous run of a C-ordered
    array (so a contiguous input needs no gather copy), and a plane of a volume
    lies in as few chunks as possible. ``n`` is balanced so that the last chunk
    along axis k is nearly full (little padding to compress and store).
    """
    row = itemsize
    for axis in range(len(shape) - 1, -1, -1):
        if row * shape[axis] > CHUNK_NBYTES or axis == 0:
            per_chunk = max(1, CHUNK_NBYTES // row)
            count = math.ceil(shape[axis] / per_chunk)
            rows = math.ceil(shape[axis] / count)
            return (1,) * axis + (rows,) + tuple(shape[axis + 1 :])
        row *= shape[axis]
    raise ValueError("chunk_shape needs at least one dimension")


def fletcher32(data: bytes | bytearray | memoryview) -> int:
    """HDF5's Fletcher32 checksum of ``data``, vectorised to keep up with LZ4.

    HDF5 sums big-endian 16-bit words with end-around carry, so each sum is its
    value modulo 65535 except that a nonzero multiple of 65535 shows as 65535.
    The position-weighted second sum is rebuilt from row and column sums of a
    (rows x _FLETCHER_ROW) view, which numpy computes without a Python loop.

    The sums run over little-endian words, in place: modulo 65535 a big-endian
    word is 256 times the little-endian word of the same bytes (256 * 256 = 65536
    = 1), and both sums are linear, so no byte-swapped copy is needed.
    """
    size = len(data)
    words = np.frombuffer(data, dtype="<u2", count=size // 2)
    rows = words.size // _FLETCHER_ROW
    main = words[: rows * _FLETCHER_ROW].reshape(rows, _FLETCHER_ROW)
    tail = words[rows * _FLETCHER_ROW :].astype(np.uint64)
    if size % 2:  # HDF5 reads a last odd byte b as the big-endian word b << 8: little-endian b
        tail = np.append(tail, np.uint64(data[-1]))
    row_sums = main.sum(axis=1, dtype=np.uint32)  # fits: 4096 * 65535 < 2**32
    col_sums = main.sum(axis=0, dtype=np.uint32 if rows <= 65537 else np.uint64)
    total = int(row_sums.sum(dtype=np.uint64)) + int(tail.sum())
    if total == 0:
        return 0
    index_sum = (
        _FLETCHER_ROW * _dot_index(row_sums)
        + _dot_index(col_sums)
        + rows * _FLETCHER_ROW * int(tail.sum())
        + _dot_index(tail)
    )
    first = 256 * total % 65535 or 65535
    second = 256 * ((words.size + size % 2) * total - index_sum) % 65535 or 65535
    return (second << 16) | first


def _dot_index(values: np.ndarray) -> int:
    """Sum of i * values[i], exact (values below 2**16, so no uint64 overflow)."""
    index = np.arange(values.size, dtype=np.uint64)
    return int(np.dot(values.astype(np.uint64) % 65535, index))


def _swap_halves(value: int) -> int:
    """The byte-swapped checksum HDF5 also accepts (written by HDF5 1.6.2 and before)."""
    return ((value & 0x00FF00FF) << 8) | ((value >> 8) & 0x00FF00FF)


@dataclass(frozen=True, slots=True)
class ChunkCodec:
    """One dataset's filter pipeline, applied to chunk bytes in Python threads.

    ``shuffle`` is the shuffle element size (0: no shuffle filter). The pipeline is
    always shuffle -> compressor -> Fletcher32, the order h5py also uses.
    """

    method: CompressionName
    level: int = 0
    shuffle: int = 0
    fletcher32: bool = True

    @classmethod
    def for_writing(cls, compression: Compression, dtype: np.dtype) -> ChunkCodec:
        """The pipeline for a new dataset: shuffle only where it helps LZ4/deflate."""
        shuffle = dtype.itemsize if compression.name != "none" and _shuffles(dtype) else 0
        return cls(compression.name, compression.level or 0, shuffle)

    @classmethod
    def from_dataset(cls, dataset: h5py.Dataset) -> ChunkCodec | None:
        """The codec of an existing chunked dataset, or None if we cannot decode it."""
        plist = dataset.id.get_create_plist()
        found = [plist.get_filter(i)[:3] for i in range(plist.get_nfilters())]
        shuffle, level, method, fletcher = 0, 0, "none", False
        if found and found[0][0] == h5py.h5z.FILTER_SHUFFLE:
            shuffle = found.pop(0)[2][0] if found[0][2] else dataset.dtype.itemsize
        if found and found[0][0] in (LZ4_FILTER, h5py.h5z.FILTER_DEFLATE):
            code, _, values = found.pop(0)
            method = "lz4" if code == LZ4_FILTER else "gzip"
            level = values[0] if values and method == "gzip" else 0
        if found and found[0][0] == h5py.h5z.FILTER_FLETCHER32:
            fletcher = found.pop(0)[0] == h5py.h5z.FILTER_FLETCHER32
        if found or shuffle not in (0, 1, dataset.dtype.itemsize):
            return None
        return cls(method, level, shuffle if shuffle > 1 else 0, fletcher)

    def dcpl(self, chunks: tuple[int, ...]) -> h5py.h5p.PropDCID:
        """A dataset creation property list declaring this pipeline to readers."""
        plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        plist.set_chunk(chunks)
        plist.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
        if self.shuffle:
            plist.set_shuffle()
        if self.method == "lz4":
            # Same flags and options as hdf5plugin.LZ4(), so other tools see a familiar pipeline.
            plist.set_filter(LZ4_FILTER, h5py.h5z.FLAG_OPTIONAL, (0,))
        elif self.method == "gzip":
            plist.set_deflate(self.level)
        if self.fletcher32:
            plist.set_fletcher32()
        return plist

    def encode(self, data: np.ndarray, buffer: np.ndarray | None = None
               ) -> bytearray | np.ndarray:
        """Filter one chunk (contiguous uint8, full chunk size) into its stored bytes.

        With ``buffer`` (uint8, stored_capacity(data.size) bytes) an LZ4 chunk is built
        in it and a view of it returned: no allocation and no copy of the compressed
        blocks. Otherwise the result is a new bytearray.
        """
        if self.shuffle:
            data = shuffle(data, self.shuffle)  # scratch: every branch below copies it
        if self.method == "lz4" and buffer is not None and _LZ4_COMPRESS is not None:
            size = _lz4_frame_into(data, buffer)
            if self.fletcher32:
                checksum = fletcher32(memoryview(buffer[:size])).to_bytes(4, "little")
                buffer[size : size + 4] = np.frombuffer(checksum, np.uint8)
                size += 4
            return buffer[:size]
        if self.method == "lz4":
            parts = _lz4_frame(data)
        elif self.method == "gzip":
            parts = [zlib.compress(data, self.level)]
        else:
            parts = [data]
        if not self.fletcher32:
            return bytearray().join(parts)
        stored = bytearray().join([*parts, b"\0\0\0\0"])
        stored[-4:] = fletcher32(memoryview(stored)[:-4]).to_bytes(4, "little")
        return stored

    @staticmethod
    def stored_capacity(chunk_nbytes: int) -> int:
        """Bytes an LZ4 chunk can take when ``encode`` builds it in a buffer."""
        blocks = math.ceil(chunk_nbytes / _LZ4_MAX_BLOCK)
        return _LZ4_HEADER.size + 4 * blocks + chunk_nbytes + 4

    def decode_into(self, stored: bytes | memoryview, dest: np.ndarray, chunk_nbytes: int) -> None:
        """Check and unfilter one stored chunk; write its first ``dest.size`` bytes to dest.

        ``dest`` is a contiguous uint8 view (a prefix of the chunk, in element order).
        LZ4 decodes straight into ``dest`` when nothing else is left to do, otherwise
        into this thread's scratch buffer. Raises CorruptChunkError on a bad checksum
        or undecodable data.
        """
        body = memoryview(stored)
        if self.fletcher32:
            body = _checked(body)
        if self.method == "lz4":
            direct = not self.shuffle and dest.size == chunk_nbytes
            raw = dest if direct else scratch_bytes(chunk_nbytes, "raw")
            _lz4_unframe_into(body, raw)
            if direct:
                return
        else:
            data = _inflate(body, chunk_nbytes) if self.method == "gzip" else body
            if len(data) != chunk_nbytes:
                raise CorruptChunkError(f"chunk holds {len(data)} bytes, expected {chunk_nbytes}")
            raw = np.frombuffer(data, dtype=np.uint8)
        if self.shuffle:
            unshuffle(raw, dest, self.shuffle)
        else:
            dest[...] = raw[: dest.size]


def _shuffles(dtype: np.dtype) -> bool:
    """Byte shuffle pays for numbers and records of numbers, not for text or opaque bytes."""
    return dtype.itemsize > 1 and (dtype.kind in "biufcmM" or dtype.fields is not None)


def _lz4_frame(data: np.ndarray) -> list[bytes | np.ndarray]:
    """Split ``data`` into the 32004 filter's header and (size, block) pairs."""
    nbytes = data.size
    block = min(nbytes, _LZ4_MAX_BLOCK)
    parts: list[bytes | np.ndarray] = [_LZ4_HEADER.pack(nbytes, block)]
    for start in range(0, nbytes, block):
        piece = data[start : start + block]
        packed: bytes | np.ndarray = lz4.block.compress(
            piece, store_size=False, mode="fast", acceleration=_LZ4_ACCELERATION)
        if len(packed) >= piece.size:  # the filter stores such blocks raw
            packed = piece
        parts += [_U32_BE.pack(len(packed)), packed]
    return parts


def _lz4_frame_into(data: np.ndarray, out: np.ndarray) -> int:
    """_lz4_frame written into ``out`` by liblz4; the number of bytes used."""
    nbytes = data.size
    block = min(nbytes, _LZ4_MAX_BLOCK)
    _LZ4_HEADER.pack_into(out, 0, nbytes, block)
    pos = _LZ4_HEADER.size
    for start in range(0, nbytes, block):
        piece = data[start : start + block]
        target = out[pos + 4 : pos + 4 + piece.size]
        if target.size != piece.size:  # liblz4 trusts the capacity we pass: never guess it
            raise ValueError(f"LZ4 buffer of {out.size} bytes is too small for the chunk")
        # Room for one byte less than the block: 0 back means LZ4 did not shrink it.
        size = _LZ4_COMPRESS(piece.ctypes.data, target.ctypes.data, piece.size,
                             piece.size - 1, _LZ4_ACCELERATION)
        if size <= 0:  # the filter stores such blocks raw
            target[...] = piece
            size = piece.size
        _U32_BE.pack_into(out, pos, size)
        pos += 4 + size
    return pos


def _lz4_unframe_into(body: memoryview, out: np.ndarray) -> None:
    """Undo _lz4_frame into ``out`` (uint8, the chunk's size), checking every size."""
    if len(body) < _LZ4_HEADER.size:
        raise CorruptChunkError("LZ4 chunk shorter than its header")
    nbytes, block = _LZ4_HEADER.unpack_from(body)
    if nbytes != out.size or block == 0:
        raise CorruptChunkError(f"LZ4 header says {nbytes} bytes in blocks of {block}")
    source = np.frombuffer(body, np.uint8)
    pos = _LZ4_HEADER.size
    for start in range(0, nbytes, block):
        want = min(block, nbytes - start)
        if pos + 4 > len(body):
            raise CorruptChunkError("LZ4 chunk truncated")
        (size,) = _U32_BE.unpack_from(body, pos)
        if pos + 4 + size > len(body):
            raise CorruptChunkError("LZ4 chunk truncated")
        piece, target = source[pos + 4 : pos + 4 + size], out[start : start + want]
        if size == want:
            target[...] = piece
        else:
            _lz4_block_into(piece, target)
        pos += 4 + size
    if pos != len(body):
        raise CorruptChunkError(f"LZ4 chunk has {len(body) - pos} stray bytes")


def _lz4_block_into(piece: np.ndarray, target: np.ndarray) -> None:
    """Decompress one LZ4 block that must fill ``target`` exactly."""
    if _LZ4_DECOMPRESS is None:
        try:
            data = lz4.block.decompress(piece, uncompressed_size=target.size)
        except lz4.block.LZ4BlockError as err:
            raise CorruptChunkError(f"LZ4 block does not decode: {err}") from err
        got = len(data)
        if got == target.size:
            target[...] = np.frombuffer(data, np.uint8)
    else:
        got = _LZ4_DECOMPRESS(piece.ctypes.data, target.ctypes.data, piece.size, target.size)
    if got != target.size:
        raise CorruptChunkError(f"LZ4 block does not decode to {target.size} bytes ({got})")


def _inflate(body: memoryview, chunk_nbytes: int) -> bytes | np.ndarray:
    """Decompress a deflate chunk, never past the chunk's size (inflate.py)."""
    try:
        return inflate(body, chunk_nbytes)
    except InflateError as err:
        raise CorruptChunkError(str(err)) from err


def _checked(body: memoryview) -> memoryview:
    """Verify and strip the Fletcher32 trailer as HDF5 does."""
    if len(body) < 4:
        raise CorruptChunkError("chunk shorter than its Fletcher32 checksum")
    stored = int.from_bytes(body[-4:], "little")
    actual = fletcher32(body[:-4])
    if stored not in (actual, _swap_halves(actual)):
        raise CorruptChunkError(f"Fletcher32 checksum mismatch ({stored:#010x} != {actual:#010x})")
    return body[:-4]


def filter_plugin_path() -> str:
    """The folder holding hdf5plugin's filter plugins (for ``HDF5_PLUGIN_PATH``)."""
    return str(hdf5plugin.PLUGIN_PATH)
